"""Notebook 02's DCGAN (article 000), which later notebooks reuse, and a safe loader for saved generators.

The builders are the code notebook 02 shows. The generator maps noise (batch, latent_dim) to images
(batch, 28, 28, 1) in [-1, 1] (``tanh``); the discriminator maps images to one logit each (> 0 means "real").
"""

from pathlib import Path

import keras
from keras import layers


def build_dcgan_generator(latent_dim=100):
    """Article 000's generator: noise (batch, latent_dim) -> images (batch, 28, 28, 1) in [-1, 1]."""
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

    # float32 output even when the layers compute in 16 bits (mixed precision)
    model.add(layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", use_bias=False,
                                     activation="tanh", dtype="float32"))
    assert model.output_shape == (None, 28, 28, 1)
    return model


def build_dcgan_discriminator(image_shape=(28, 28, 1)):
    """Article 000's discriminator: images (batch, H, W, C) in [-1, 1] -> logits (batch, 1)."""
    model = keras.Sequential(name="dcgan_discriminator")
    model.add(keras.Input(shape=image_shape))
    model.add(layers.Conv2D(64, (5, 5), strides=(2, 2), padding="same"))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))

    model.add(layers.Conv2D(128, (5, 5), strides=(2, 2), padding="same"))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))

    model.add(layers.Flatten())
    model.add(layers.Dense(1, dtype="float32"))  # one logit: > 0 means "real"
    assert model.output_shape == (None, 1)
    return model


def load_generator(path, latent_dim=None, image_shape=None, num_classes=None):
    """Load a generator saved with ``generator.save("generator.keras")``, checking that it is one.

    Keras' ``safe_mode=True`` refuses files that would run code when loaded (a ``Lambda`` layer's
    pickled function). The model must map noise (batch, latent_dim) to images (batch, H, W, 1 or 3);
    ``latent_dim`` and ``image_shape`` (H, W, C), if given, must match. A conditional generator (notebook 07)
    maps ``[noise, one-hot labels (batch, num_classes)]``; pass ``num_classes`` to load one. Raises
    ``FileNotFoundError`` or ``ValueError`` saying what is wrong. Used by notebooks 01, 02, 03, 05, 07 and 09.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No generator file at {path}. Save one with generator.save('{path.name}').")
    if path.suffix != ".keras":
        raise ValueError(f"{path} is not a .keras file. Save the generator with generator.save('generator.keras'); "
                         "a weights-only .weights.h5 file loads into a built model with model.load_weights(path).")
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # a damaged zip, an unknown layer, or code that safe mode refuses to run
        raise ValueError(f"Could not load {path} as a Keras model: {str(error).splitlines()[0][:300]}") from None
    inputs = [tuple(shape) for shape in model.input_shape] if isinstance(model.input_shape, list) else [tuple(model.input_shape)]
    output_shape = tuple(model.output_shape)
    wanted_inputs = 1 if num_classes is None else 2
    if len(inputs) != wanted_inputs or any(len(shape) != 2 for shape in inputs) or len(output_shape) != 4 or output_shape[-1] not in (1, 3):
        described = inputs[0] if len(inputs) == 1 else inputs
        wanted = "noise (batch, latent_dim)" if num_classes is None else "[noise (batch, latent_dim), labels (batch, num_classes)]"
        raise ValueError(f"{path} holds a model mapping {described} -> {output_shape}, not a generator, which maps "
                         f"{wanted} to images (batch, height, width, 1 or 3). Is it the discriminator"
                         + ("?" if num_classes is not None or len(inputs) == 1 else ", or a conditional generator (pass num_classes)?"))
    if latent_dim is not None and inputs[0][-1] != int(latent_dim):
        raise ValueError(f"{path} takes noise of length {inputs[0][-1]}, not latent_dim={latent_dim}.")
    if num_classes is not None and inputs[1][-1] != int(num_classes):
        raise ValueError(f"{path} takes labels of {inputs[1][-1]} classes, not num_classes={num_classes}.")
    if image_shape is not None and output_shape[1:] != tuple(image_shape):
        raise ValueError(f"{path} draws images shaped {output_shape[1:]}, not {tuple(image_shape)}.")
    return model
