import numpy as np
import pytest

from gan_utils import models


def test_generator_maps_noise_to_images_in_unit_range():
    generator = models.build_dcgan_generator(latent_dim=100)
    images = generator(np.random.default_rng(0).normal(size=(3, 100)).astype("float32"), training=False)
    assert tuple(images.shape) == (3, 28, 28, 1)
    assert float(np.max(np.abs(images))) <= 1.0
    assert generator.count_params() == 2_330_944


def test_discriminator_gives_one_logit_per_image():
    discriminator = models.build_dcgan_discriminator((28, 28, 1))
    logits = discriminator(np.zeros((5, 28, 28, 1), "float32"), training=False)
    assert tuple(logits.shape) == (5, 1)
    assert discriminator.count_params() == 212_865


def test_model_builders_reject_bad_arguments():
    with pytest.raises(ValueError, match="latent_dim"):
        models.build_dcgan_generator(0)
    with pytest.raises(ValueError, match="image_shape"):
        models.build_dcgan_discriminator((28, 28))
