"""Notebook 04's own code (article 004, the classic Keras GAN), run from the notebook itself.

The networks, the combined model, ``combine_images``, ``make_optimizer`` and ``generate(nice=True)``
live only in notebooks/04_classic_keras_gan.ipynb; ``definitions`` executes the cells that define them.
"""

import math

import keras
import numpy as np
import pytest

from tools.notebook_cells import definitions


@pytest.fixture(scope="module")
def nb():
    return definitions("04_classic_keras_gan", "generator_model", "discriminator_model",
                       "generator_containing_discriminator", "combine_images", "make_optimizer", "generate")


def dense(inputs, units):
    return inputs * units + units


def conv(kernel, channels_in, channels_out):
    return kernel * kernel * channels_in * channels_out + channels_out


def layers_of(model, kind):
    return [layer for layer in model.layers if isinstance(layer, kind)]


def layer_order(model):
    """The model's layers as (kind, detail): the activation's name, or the layer's main size."""
    order = []
    for layer in model.layers:
        kind = type(layer).__name__
        detail = {"Activation": lambda: layer.get_config()["activation"], "Dense": lambda: layer.units,
                  "Conv2D": lambda: (layer.filters, layer.kernel_size, layer.padding)}.get(kind, lambda: None)()
        order.append((kind, detail))
    return order


def test_generator_is_article_004s_network(nb):
    generator = nb["generator_model"]()
    assert layer_order(generator) == [
        ("Dense", 1024), ("Activation", "tanh"), ("Dense", 128 * 7 * 7), ("BatchNormalization", None),
        ("Activation", "tanh"), ("Reshape", None), ("UpSampling2D", None), ("Conv2D", (64, (5, 5), "same")),
        ("Activation", "tanh"), ("UpSampling2D", None), ("Conv2D", (1, (5, 5), "same")), ("Activation", "tanh")]
    batch_norm = 4 * 128 * 7 * 7  # gamma, beta (trained) + moving mean, variance (not trained)
    assert generator.count_params() == dense(100, 1024) + dense(1024, 6272) + batch_norm + conv(5, 128, 64) + conv(5, 64, 1)
    assert generator.count_params() == 6_763_777
    noise = np.random.default_rng(2).uniform(-1, 1, size=(3, 100)).astype("float32") * 50  # saturates tanh
    images = np.asarray(generator(noise, training=False))
    assert generator.input_shape == (None, 100)
    assert images.shape == (3, 28, 28, 1) and np.abs(images).max() <= 1.0 and np.abs(images).max() > 0.5


def test_discriminator_is_article_004s_network(nb):
    discriminator = nb["discriminator_model"]()
    assert layer_order(discriminator) == [
        ("Conv2D", (64, (5, 5), "same")), ("Activation", "tanh"), ("MaxPooling2D", None),
        ("Conv2D", (128, (5, 5), "valid")), ("Activation", "tanh"), ("MaxPooling2D", None), ("Flatten", None),
        ("Dense", 1024), ("Activation", "tanh"), ("Dense", 1), ("Activation", "sigmoid")]
    # 28 -> conv "same" 28 -> pool 14 -> conv "valid" 10 -> pool 5: Flatten gives 5 * 5 * 128 = 3200
    assert discriminator.count_params() == conv(5, 1, 64) + conv(5, 64, 128) + dense(5 * 5 * 128, 1024) + dense(1024, 1)
    assert discriminator.count_params() == 3_485_441
    images = np.random.default_rng(4).uniform(-1, 1, size=(4, 28, 28, 1)).astype("float32") * 50
    scores = np.asarray(discriminator(images, training=False))
    assert scores.shape == (4, 1) and np.all((scores >= 0) & (scores <= 1))  # probabilities, not logits


def test_combined_model_freezes_the_discriminator_and_chains_both(nb):
    generator, discriminator = nb["generator_model"](), nb["discriminator_model"]()
    assert discriminator.trainable is True
    combined = nb["generator_containing_discriminator"](generator, discriminator)
    assert discriminator.trainable is False
    assert combined.layers == [generator, discriminator]
    assert combined.input_shape == (None, 100) and combined.output_shape == (None, 1)
    assert len(combined.trainable_weights) == len(generator.trainable_weights)
    noise = np.random.default_rng(3).uniform(-1, 1, size=(2, 100)).astype("float32")
    expected = discriminator(generator(noise, training=False), training=False)
    np.testing.assert_allclose(np.asarray(combined(noise, training=False)), np.asarray(expected), rtol=1e-6)


def articles_combine_images(generated_images):
    """Article 004's code, with its ``image * 127.5 + 127.5`` and ``astype(np.uint8)`` from train()."""
    num = generated_images.shape[0]
    width = int(math.sqrt(num))
    height = int(math.ceil(float(num) / width))
    shape = generated_images.shape[1:3]
    image = np.zeros((height * shape[0], width * shape[1]), dtype=generated_images.dtype)
    for index, img in enumerate(generated_images):
        i = int(index / width)
        j = index % width
        image[i * shape[0]:(i + 1) * shape[0], j * shape[1]:(j + 1) * shape[1]] = img[:, :, 0]
    return (image * 127.5 + 127.5).astype(np.uint8)


def test_combine_images_uses_the_articles_layout_and_pixel_scale(nb):
    # int(sqrt(N)) columns, ceil(N / columns) rows, pixels = image * 127.5 + 127.5; an empty cell is 0 there: grey.
    images = np.linspace(-1, 1, 5, dtype=np.float32)[:, None, None, None] * np.ones((5, 3, 4, 1), np.float32)
    picture = nb["combine_images"](images)
    assert picture.shape == (3 * 3, 2 * 4) and picture.dtype == np.uint8  # 2 columns, 3 rows, no channel axis
    for index in range(5):
        row, col = divmod(index, 2)
        cell = picture[row * 3:(row + 1) * 3, col * 4:(col + 1) * 4]
        assert np.all(cell == np.round(images[index, 0, 0, 0] * 127.5 + 127.5))
    assert np.all(picture[6:9, 4:8] == 128)


def test_combine_images_matches_the_articles_function_on_a_training_batch(nb):
    images = np.tanh(np.random.default_rng(5).normal(size=(128, 28, 28, 1)) * 2).astype("float32")
    picture = nb["combine_images"](images)
    assert picture.shape == (12 * 28, 11 * 28)  # 11 columns, 12 rows
    difference = picture.astype(int) - articles_combine_images(images).astype(int)
    assert difference.min() >= 0 and difference.max() <= 1  # the article truncates, the notebook rounds


def test_make_optimizer_gives_adam_or_the_articles_sgd_and_refuses_anything_else(nb):
    adam, sgd = nb["make_optimizer"]("adam"), nb["make_optimizer"]("sgd")
    assert isinstance(adam, keras.optimizers.Adam)
    assert float(adam.learning_rate) == pytest.approx(2e-4) and adam.beta_1 == pytest.approx(0.5)
    assert isinstance(sgd, keras.optimizers.SGD) and sgd.nesterov
    assert float(sgd.learning_rate) == pytest.approx(1e-3) and sgd.momentum == pytest.approx(0.9)
    with pytest.raises(ValueError, match="OPTIMIZER"):
        nb["make_optimizer"]("rmsprop")


def tiny_generator_and_discriminator():
    """G copies its 4 noise numbers into a 2x2 image; D scores an image by its mean pixel."""
    generator = keras.Sequential([keras.Input((4,)), keras.layers.Reshape((2, 2, 1))])
    discriminator = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.GlobalAveragePooling2D()])
    return generator, discriminator


def test_generate_draws_the_articles_uniform_noise(nb):
    generator, _ = tiny_generator_and_discriminator()
    np.random.seed(0)
    images, scores = nb["generate"](generator, 2000)
    assert images.shape == (2000, 2, 2, 1) and scores is None
    assert images.min() >= -1.0 and images.max() < 1.0
    assert images.min() < -0.99 and images.max() > 0.99  # the whole range, not a normal's
    assert abs(images.mean()) < 0.02


def test_nice_generation_draws_20x_and_keeps_the_ones_the_discriminator_rates_highest(nb):
    generator, discriminator = tiny_generator_and_discriminator()
    np.random.seed(1)
    nice_images, nice_scores = nb["generate"](generator, 10, discriminator, nice=True)
    np.random.seed(1)
    candidates = np.random.uniform(-1, 1, size=(10 * 20, 4)).reshape(200, 2, 2, 1)  # the same 200 draws
    all_scores = candidates.mean(axis=(1, 2, 3))
    assert nice_images.shape == (10, 2, 2, 1)
    np.testing.assert_allclose(nice_scores, np.sort(all_scores)[::-1][:10], rtol=1e-5)
    np.testing.assert_allclose(nice_images.mean(axis=(1, 2, 3)), nice_scores, rtol=1e-5)  # each with its own score
    plain_images, plain_scores = nb["generate"](generator, 10, discriminator)
    assert plain_images.shape == (10, 2, 2, 1) and plain_scores.shape == (10,)
    assert plain_scores.mean() < nice_scores.mean()


def test_nice_generation_refuses_to_run_without_a_discriminator(nb):
    generator, _ = tiny_generator_and_discriminator()
    with pytest.raises(ValueError, match="discriminator"):
        nb["generate"](generator, 3, nice=True)
