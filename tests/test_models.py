"""Notebook 02's DCGAN networks (article 000): shapes, ranges and sizes."""

import numpy as np

from gan_utils import models


def test_generator_maps_noise_to_images_in_unit_range():
    generator = models.build_dcgan_generator(latent_dim=100)
    images = generator(np.random.default_rng(0).normal(size=(3, 100)).astype("float32"), training=False)
    assert tuple(images.shape) == (3, 28, 28, 1)
    assert float(np.max(np.abs(images))) <= 1.0
    assert generator.count_params() == 2_330_944
    assert [layer.__class__.__name__ for layer in generator.layers if "Conv" in layer.__class__.__name__] == ["Conv2DTranspose"] * 3


def test_generator_takes_other_noise_lengths():
    assert models.build_dcgan_generator(latent_dim=32).input_shape == (None, 32)


def test_discriminator_gives_one_logit_per_image():
    discriminator = models.build_dcgan_discriminator((28, 28, 1))
    logits = discriminator(np.zeros((5, 28, 28, 1), "float32"), training=False)
    assert tuple(logits.shape) == (5, 1)
    assert discriminator.count_params() == 212_865
    assert discriminator.layers[-1].get_config()["activation"] == "linear"  # a logit, no sigmoid
