"""The articles' generators and discriminators, built as Keras 3 ``Sequential`` models.

Taught in notebooks 01 (article 002's MLP GAN), 02 (article 000's DCGAN) and 04 (article 004's
classic Keras GAN). Generators map noise (batch, latent_dim) to images (batch, 28, 28, 1) in
[-1, 1] (``tanh``); discriminators map images to one number each: a logit (02, 01 with
``sigmoid_output=False``) or a probability in (0, 1) from a sigmoid (01, 04).
"""

from pathlib import Path

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


def build_mlp_generator(latent_dim: int = LATENT_DIM, image_shape=(28, 28, 1)) -> keras.Sequential:
    """Article 002's MLP generator: noise (batch, latent_dim) -> images (batch, 28, 28, 1) in [-1, 1].

    Taught in notebook 01. Fully connected 100 -> 256 -> 512 -> 1024 -> 784, LeakyReLU(0.2) after
    each hidden layer, ``tanh`` on the output. The article's ``vectors2images`` step (784 -> 28x28)
    is the final ``Reshape``, so the output is an image like every other generator's.
    """
    if int(latent_dim) < 1:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim}.")
    if len(image_shape) != 3:
        raise ValueError(f"image_shape must be (height, width, channels), got {image_shape}.")
    pixels = int(image_shape[0]) * int(image_shape[1]) * int(image_shape[2])
    model = keras.Sequential(name="mlp_generator")
    model.add(keras.Input(shape=(latent_dim,)))
    for units in (256, 512, 1024):  # the article's hidden0, hidden1, hidden2
        model.add(layers.Dense(units))
        model.add(layers.LeakyReLU(negative_slope=0.2))
    model.add(layers.Dense(pixels, activation="tanh", dtype="float32"))  # the article's out: 1024 -> 784
    model.add(layers.Reshape(tuple(image_shape)))  # vectors2images
    return model


def build_mlp_discriminator(image_shape=(28, 28, 1), sigmoid_output: bool = True) -> keras.Sequential:
    """Article 002's MLP discriminator: images (batch, 28, 28, 1) in [-1, 1] -> (batch, 1).

    Taught in notebook 01. ``Flatten`` is the article's ``images2vectors`` (28x28 -> 784), then
    fully connected 784 -> 1024 -> 512 -> 256 -> 1 with LeakyReLU(0.2). With ``sigmoid_output``
    (the article) the output is D(x), a probability in (0, 1): train with ``from_logits=False``.
    With ``sigmoid_output=False`` it is the logit, and losses apply the sigmoid (``from_logits=True``).
    """
    if len(image_shape) != 3:
        raise ValueError(f"image_shape must be (height, width, channels), got {image_shape}.")
    model = keras.Sequential(name="mlp_discriminator" if sigmoid_output else "mlp_discriminator_logits")
    model.add(keras.Input(shape=tuple(image_shape)))
    model.add(layers.Flatten())  # images2vectors
    for units in (1024, 512, 256):  # the article's hidden0, hidden1, hidden2
        model.add(layers.Dense(units))
        model.add(layers.LeakyReLU(negative_slope=0.2))
    model.add(layers.Dense(1, activation="sigmoid" if sigmoid_output else None, dtype="float32"))
    return model


def build_keras_gan_generator(latent_dim: int = LATENT_DIM) -> keras.Sequential:
    """Article 004's generator: noise (batch, 100) in [-1, 1] -> images (batch, 28, 28, 1) in [-1, 1].

    Taught in notebook 04. Dense 1024 tanh, Dense 128*7*7 + BatchNorm + tanh, Reshape to 7x7x128,
    UpSampling2D to 14x14, Conv2D 64 5x5 tanh, UpSampling2D to 28x28, Conv2D 1 5x5 tanh
    (``padding="same"`` keeps the size, so only the upsampling layers grow the image).
    """
    if int(latent_dim) < 1:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim}.")
    model = keras.Sequential(name="keras_gan_generator")
    model.add(keras.Input(shape=(latent_dim,)))
    model.add(layers.Dense(1024))
    model.add(layers.Activation("tanh"))
    model.add(layers.Dense(128 * 7 * 7))
    model.add(layers.BatchNormalization())
    model.add(layers.Activation("tanh"))
    model.add(layers.Reshape((7, 7, 128)))
    model.add(layers.UpSampling2D(size=(2, 2)))
    model.add(layers.Conv2D(64, (5, 5), padding="same"))
    model.add(layers.Activation("tanh"))
    model.add(layers.UpSampling2D(size=(2, 2)))
    model.add(layers.Conv2D(1, (5, 5), padding="same"))
    model.add(layers.Activation("tanh", dtype="float32"))
    assert model.output_shape == (None, 28, 28, 1)
    return model


def build_keras_gan_discriminator(image_shape=(28, 28, 1)) -> keras.Sequential:
    """Article 004's discriminator: images (batch, 28, 28, 1) in [-1, 1] -> D(x) (batch, 1) in (0, 1).

    Taught in notebook 04. Conv2D 64 5x5 ("same") tanh, MaxPooling 2x2 (-> 14x14), Conv2D 128 5x5
    (no padding, -> 10x10) tanh, MaxPooling 2x2 (-> 5x5), Flatten, Dense 1024 tanh, Dense 1 sigmoid:
    a probability, so its losses use ``from_logits=False`` (Keras' ``"binary_crossentropy"``).
    """
    if len(image_shape) != 3:
        raise ValueError(f"image_shape must be (height, width, channels), got {image_shape}.")
    model = keras.Sequential(name="keras_gan_discriminator")
    model.add(keras.Input(shape=tuple(image_shape)))
    model.add(layers.Conv2D(64, (5, 5), padding="same"))
    model.add(layers.Activation("tanh"))
    model.add(layers.MaxPooling2D(pool_size=(2, 2)))
    model.add(layers.Conv2D(128, (5, 5)))
    model.add(layers.Activation("tanh"))
    model.add(layers.MaxPooling2D(pool_size=(2, 2)))
    model.add(layers.Flatten())
    model.add(layers.Dense(1024))
    model.add(layers.Activation("tanh"))
    model.add(layers.Dense(1))
    model.add(layers.Activation("sigmoid", dtype="float32"))
    return model


def generator_containing_discriminator(generator, discriminator) -> keras.Sequential:
    """Article 004's combined model: noise -> generator -> discriminator -> D(G(z)) (batch, 1).

    Taught in notebook 04. Sets ``discriminator.trainable = False`` as the article does, so that
    ``combined.train_on_batch(noise, ones)`` updates the generator only. Keras 3 reads ``trainable``
    when a model's train function is first traced (its first ``train_on_batch``), not at ``compile``:
    set ``discriminator.trainable = True`` again before the discriminator's own first
    ``train_on_batch``, and ``False`` around every step of this model.
    """
    model = keras.Sequential(name="generator_containing_discriminator")
    model.add(keras.Input(shape=generator.input_shape[1:]))
    model.add(generator)
    discriminator.trainable = False
    model.add(discriminator)
    return model


def load_generator(path, latent_dim=None, image_shape=None):
    """Load a generator saved with ``generator.save("generator.keras")``, checking that it is one.

    Uses ``keras.models.load_model(..., safe_mode=True)``: a ``.keras`` file cannot run arbitrary code
    (e.g. a ``Lambda`` layer's pickled function) when loaded. The model must map noise (batch, latent_dim)
    to images (batch, H, W, 1 or 3); ``latent_dim`` and ``image_shape`` (H, W, C), if given, must match.
    Raises ``FileNotFoundError`` or ``ValueError`` saying what is wrong. Taught in notebook 02.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No generator file at {path}. Save one with generator.save('{path.name}').")
    if path.suffix != ".keras":
        raise ValueError(
            f"{path} is not a .keras file. Save the generator with generator.save('generator.keras'); "
            "weights-only (.weights.h5) files load with build_dcgan_generator().load_weights(path)."
        )
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # a damaged zip, an unknown layer, or code that safe mode refuses to run
        raise ValueError(f"Could not load {path} as a Keras model: {str(error).splitlines()[0][:300]}") from None
    input_shape, output_shape = tuple(model.input_shape), tuple(model.output_shape)
    if len(input_shape) != 2 or len(output_shape) != 4 or output_shape[-1] not in (1, 3):
        raise ValueError(
            f"{path} holds a model mapping {input_shape} -> {output_shape}, not a generator, which maps noise "
            "(batch, latent_dim) to images (batch, height, width, 1 or 3). Is it the discriminator, or a whole GAN?"
        )
    if latent_dim is not None and input_shape[-1] != int(latent_dim):
        raise ValueError(f"{path} takes noise of length {input_shape[-1]}, not latent_dim={latent_dim}.")
    if image_shape is not None and output_shape[1:] != tuple(image_shape):
        raise ValueError(f"{path} draws images shaped {output_shape[1:]}, not {tuple(image_shape)}.")
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
