"""Notebook 01's MLP networks (article 002) and notebook 04's classic Keras GAN networks (article 004)."""

import keras
import numpy as np
import pytest

from gan_utils import models


def dense(inputs, units):
    return inputs * units + units


def conv(kernel, channels_in, channels_out):
    return kernel * kernel * channels_in * channels_out + channels_out


def layer_summary(model, kind):
    return [layer for layer in model.layers if isinstance(layer, kind)]


def test_mlp_generator_is_the_articles_100_256_512_1024_784_network():
    generator = models.build_mlp_generator()
    assert [layer.units for layer in layer_summary(generator, keras.layers.Dense)] == [256, 512, 1024, 784]
    assert [layer.negative_slope for layer in layer_summary(generator, keras.layers.LeakyReLU)] == pytest.approx([0.2] * 3)
    assert generator.count_params() == dense(100, 256) + dense(256, 512) + dense(512, 1024) + dense(1024, 784)
    noise = np.random.default_rng(0).normal(size=(4, 100)).astype("float32") * 10  # large inputs saturate tanh
    images = np.asarray(generator(noise, training=False))
    assert images.shape == (4, 28, 28, 1)
    assert np.abs(images).max() <= 1.0 and np.abs(images).max() > 0.5


@pytest.mark.parametrize("sigmoid_output", [True, False])
def test_mlp_discriminator_is_the_articles_784_1024_512_256_1_network(sigmoid_output):
    discriminator = models.build_mlp_discriminator(sigmoid_output=sigmoid_output)
    assert [layer.units for layer in layer_summary(discriminator, keras.layers.Dense)] == [1024, 512, 256, 1]
    assert discriminator.count_params() == dense(784, 1024) + dense(1024, 512) + dense(512, 256) + dense(256, 1)
    images = np.random.default_rng(1).uniform(-1, 1, size=(6, 28, 28, 1)).astype("float32") * 50
    outputs = np.asarray(discriminator(images, training=False))
    assert outputs.shape == (6, 1)
    if sigmoid_output:
        assert np.all((outputs >= 0) & (outputs <= 1))
    else:  # logits: not squashed into (0, 1)
        assert np.any((outputs < 0) | (outputs > 1))


def test_mlp_discriminator_flattens_images_row_by_row_like_images2vectors():
    discriminator = models.build_mlp_discriminator()
    flatten = layer_summary(discriminator, keras.layers.Flatten)[0]
    images = np.arange(2 * 28 * 28, dtype="float32").reshape(2, 28, 28, 1)
    assert np.array_equal(np.asarray(flatten(images)), images.reshape(2, 784))  # PyTorch's view(N, 784)


def test_keras_gan_generator_matches_article_004():
    generator = models.build_keras_gan_generator()
    assert [layer.units for layer in layer_summary(generator, keras.layers.Dense)] == [1024, 128 * 7 * 7]
    assert [(layer.filters, layer.kernel_size, layer.padding) for layer in layer_summary(generator, keras.layers.Conv2D)] == [
        (64, (5, 5), "same"), (1, (5, 5), "same")]
    assert len(layer_summary(generator, keras.layers.UpSampling2D)) == 2
    batch_norm = 4 * 128 * 7 * 7  # gamma, beta (trained) + moving mean, variance (not trained)
    assert generator.count_params() == dense(100, 1024) + dense(1024, 6272) + batch_norm + conv(5, 128, 64) + conv(5, 64, 1)
    noise = np.random.default_rng(2).uniform(-1, 1, size=(3, 100)).astype("float32")
    images = np.asarray(generator(noise, training=False))
    assert images.shape == (3, 28, 28, 1) and np.abs(images).max() <= 1.0


def test_keras_gan_discriminator_matches_article_004():
    discriminator = models.build_keras_gan_discriminator()
    assert [(layer.filters, layer.padding) for layer in layer_summary(discriminator, keras.layers.Conv2D)] == [
        (64, "same"), (128, "valid")]
    assert len(layer_summary(discriminator, keras.layers.MaxPooling2D)) == 2
    # 28 -> conv "same" 28 -> pool 14 -> conv "valid" 10 -> pool 5: Flatten gives 5 * 5 * 128 = 3200
    assert discriminator.count_params() == conv(5, 1, 64) + conv(5, 64, 128) + dense(5 * 5 * 128, 1024) + dense(1024, 1)
    scores = np.asarray(discriminator(np.zeros((4, 28, 28, 1), "float32"), training=False))
    assert scores.shape == (4, 1) and np.all((scores > 0) & (scores < 1))


def test_combined_model_freezes_the_discriminator_and_chains_both():
    generator, discriminator = models.build_keras_gan_generator(), models.build_keras_gan_discriminator()
    combined = models.generator_containing_discriminator(generator, discriminator)
    assert discriminator.trainable is False
    assert combined.input_shape == (None, 100) and combined.output_shape == (None, 1)
    assert len(combined.trainable_weights) == len(generator.trainable_weights)
    noise = np.random.default_rng(3).uniform(-1, 1, size=(2, 100)).astype("float32")
    expected = discriminator(generator(noise, training=False), training=False)
    np.testing.assert_allclose(np.asarray(combined(noise, training=False)), np.asarray(expected), rtol=1e-6)


@pytest.mark.parametrize("builder", [models.build_mlp_generator, models.build_keras_gan_generator])
def test_generators_reject_a_bad_latent_dim(builder):
    with pytest.raises(ValueError, match="latent_dim"):
        builder(0)


@pytest.mark.parametrize("builder", [models.build_mlp_discriminator, models.build_keras_gan_discriminator])
def test_discriminators_reject_a_bad_image_shape(builder):
    with pytest.raises(ValueError, match="image_shape"):
        builder((28, 28))
