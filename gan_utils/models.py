"""The articles' generators and discriminators, built as Keras 3 ``Sequential`` models.

Taught in notebook 02 (article 000's DCGAN). Generators map noise (batch, latent_dim) to
images (batch, 28, 28, 1) in [-1, 1] (``tanh``); discriminators map images to one logit each.
"""

import keras
from keras import layers

LATENT_DIM = 100


def build_dcgan_generator(latent_dim: int = LATENT_DIM) -> keras.Sequential:
    """Article 000's DCGAN generator: noise (batch, latent_dim) -> images (batch, 28, 28, 1) in [-1, 1].

    Dense 7x7x256 -> BatchNorm -> LeakyReLU, then transposed convolutions 128 (stride 1),
    64 (stride 2) and 1 (stride 2, tanh). No biases before BatchNorm (it has its own shift).
    """
    if int(latent_dim) < 1:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim}.")
    model = keras.Sequential(name="dcgan_generator")
    model.add(keras.Input(shape=(latent_dim,)))
    model.add(layers.Dense(7 * 7 * 256, use_bias=False))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())
    model.add(layers.Reshape((7, 7, 256)))
    assert model.output_shape == (None, 7, 7, 256)  # None is the batch size

    model.add(layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", use_bias=False))
    assert model.output_shape == (None, 7, 7, 128)
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())

    model.add(layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", use_bias=False))
    assert model.output_shape == (None, 14, 14, 64)
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())

    model.add(layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", use_bias=False,
                                     activation="tanh", dtype="float32"))
    assert model.output_shape == (None, 28, 28, 1)
    return model


def build_dcgan_discriminator(image_shape=(28, 28, 1)) -> keras.Sequential:
    """Article 000's DCGAN discriminator: images (batch, H, W, C) in [-1, 1] -> logits (batch, 1).

    Two strided 5x5 convolutions (64, 128) with LeakyReLU and Dropout 0.3, then one Dense unit
    with no activation: a logit, where > 0 means "real". Losses apply the sigmoid.
    """
    if len(image_shape) != 3:
        raise ValueError(f"image_shape must be (height, width, channels), got {image_shape}.")
    model = keras.Sequential(name="dcgan_discriminator")
    model.add(keras.Input(shape=tuple(image_shape)))
    model.add(layers.Conv2D(64, (5, 5), strides=(2, 2), padding="same"))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))
    model.add(layers.Conv2D(128, (5, 5), strides=(2, 2), padding="same"))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))
    model.add(layers.Flatten())
    model.add(layers.Dense(1, dtype="float32"))
    assert model.output_shape == (None, 1)
    return model


def build_fashion_mnist_generator(latent_dim: int = LATENT_DIM) -> keras.Sequential:
    """Article 003's generator (notebook 03): noise (batch, latent_dim) -> images (batch, 28, 28, 1) in [-1, 1].

    Dense 7x7x128 -> Reshape -> BatchNorm -> Conv2DTranspose 64 (5x5, stride 2, selu) -> 14x14x64
    -> BatchNorm -> Conv2DTranspose 1 (5x5, stride 2, tanh) -> 28x28x1. 840,705 parameters
    (384 of them BatchNorm's moving statistics, not trained), as in the article's summary.
    """
    if int(latent_dim) < 1:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim}.")
    return keras.Sequential(
        [
            keras.Input(shape=(latent_dim,)),
            layers.Dense(7 * 7 * 128),
            layers.Reshape((7, 7, 128)),
            layers.BatchNormalization(),
            layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", activation="selu"),
            layers.BatchNormalization(),
            layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", activation="tanh", dtype="float32"),
        ],
        name="fashion_mnist_generator",
    )


def build_fashion_mnist_discriminator(image_shape=(28, 28, 1)) -> keras.Sequential:
    """Article 003's discriminator (notebook 03): images (batch, 28, 28, 1) in [-1, 1] -> (batch, 1) in (0, 1).

    Conv2D 64 and 128 (5x5, stride 2) each with LeakyReLU(0.2) and Dropout 0.3, Flatten, Dense 1 with a
    **sigmoid**: the output is already a probability of "real", so losses use ``from_logits=False``
    (``"binary_crossentropy"`` in ``compile``). 212,865 parameters.
    """
    if len(image_shape) != 3:
        raise ValueError(f"image_shape must be (height, width, channels), got {image_shape}.")
    return keras.Sequential(
        [
            keras.Input(shape=tuple(image_shape)),
            layers.Conv2D(64, (5, 5), strides=(2, 2), padding="same"),
            layers.LeakyReLU(0.2),
            layers.Dropout(0.3),
            layers.Conv2D(128, (5, 5), strides=(2, 2), padding="same"),
            layers.LeakyReLU(0.2),
            layers.Dropout(0.3),
            layers.Flatten(),
            layers.Dense(1, activation="sigmoid", dtype="float32"),
        ],
        name="fashion_mnist_discriminator",
    )


CELEBA_LEAKY_SLOPE = 0.2  # LeakyReLU slope for notebook 05's networks
CELEBA_DROPOUT = 0.2  # generator dropout rate (keep probability 0.8)


def build_celeba_generator(latent_dim: int = LATENT_DIM, image_channels: int = 3,
                           dropout: float = CELEBA_DROPOUT) -> keras.Sequential:
    """Article 001's deep generator (notebook 05): noise (batch, latent_dim) -> faces (batch, 28, 28, 3) in [-1, 1].

    Dense 7x7x1024, then transposed convolutions whose depth falls 1024 -> 512 (14x14) -> 256 (28x28)
    -> 128 (28x28) -> ``image_channels`` (28x28, tanh). Every layer but the output has BatchNorm,
    LeakyReLU(0.2) and Dropout. All kernels 5x5. About 22.3 million parameters: train it on a GPU.
    """
    if int(latent_dim) < 1:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim}.")
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout is a rate in [0, 1), got {dropout}.")

    def block():  # what follows each hidden layer
        return [layers.BatchNormalization(), layers.LeakyReLU(CELEBA_LEAKY_SLOPE), layers.Dropout(dropout)]

    model = keras.Sequential(name="celeba_generator")
    model.add(keras.Input(shape=(latent_dim,)))
    model.add(layers.Dense(7 * 7 * 1024))
    model.add(layers.Reshape((7, 7, 1024)))
    for layer in block():
        model.add(layer)
    for filters, stride in ((512, 2), (256, 2), (128, 1)):
        model.add(layers.Conv2DTranspose(filters, (5, 5), strides=(stride, stride), padding="same"))
        for layer in block():
            model.add(layer)
    model.add(layers.Conv2DTranspose(image_channels, (5, 5), strides=(1, 1), padding="same",
                                     activation="tanh", dtype="float32"))
    return model


def build_celeba_discriminator(image_shape=(28, 28, 3)) -> keras.Sequential:
    """Article 001's 4-layer discriminator (notebook 05): faces (batch, 28, 28, 3) in [-1, 1] -> (batch, 1) in (0, 1).

    Conv2D 64 (LeakyReLU, no BatchNorm on the input layer), Conv2D 128 and 256 (BatchNorm + LeakyReLU),
    all 5x5 with stride 2 (28 -> 14 -> 7 -> 4), then Dense 1 with a sigmoid: a probability of "real",
    so losses use ``from_logits=False``.
    """
    if len(image_shape) != 3:
        raise ValueError(f"image_shape must be (height, width, channels), got {image_shape}.")
    model = keras.Sequential(name="celeba_discriminator")
    model.add(keras.Input(shape=tuple(image_shape)))
    model.add(layers.Conv2D(64, (5, 5), strides=(2, 2), padding="same"))
    model.add(layers.LeakyReLU(CELEBA_LEAKY_SLOPE))
    for filters in (128, 256):
        model.add(layers.Conv2D(filters, (5, 5), strides=(2, 2), padding="same"))
        model.add(layers.BatchNormalization())
        model.add(layers.LeakyReLU(CELEBA_LEAKY_SLOPE))
    model.add(layers.Flatten())
    model.add(layers.Dense(1, activation="sigmoid", dtype="float32"))
    return model
