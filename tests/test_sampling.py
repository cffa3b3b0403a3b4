"""gan_utils.sampling: article 004's uniform noise and generate(nice=True) (notebook 04)."""

import keras
import numpy as np
import pytest

from gan_utils import sampling


def test_uniform_noise_is_in_minus_one_to_one_and_repeatable():
    noise = sampling.uniform_noise(5000, 100, rng=0)
    assert noise.shape == (5000, 100) and noise.dtype == np.float32
    assert noise.min() >= -1.0 and noise.max() < 1.0
    assert noise.min() < -0.99 and noise.max() > 0.99  # the whole range, not a normal's
    assert abs(noise.mean()) < 0.01
    assert np.array_equal(noise, sampling.uniform_noise(5000, 100, rng=0))


def test_keep_highest_scored_keeps_exactly_the_best_in_order():
    rng = np.random.default_rng(0)
    scores = rng.permutation(100) / 100.0  # every score different
    images = np.broadcast_to(scores[:, None, None, None], (100, 2, 2, 1)).astype("float32")  # image i "is" its score
    best_images, best_scores = sampling.keep_highest_scored(images, scores[:, None], 5)
    assert np.allclose(best_scores, [0.99, 0.98, 0.97, 0.96, 0.95])
    assert np.allclose(best_images[:, 0, 0, 0], best_scores)  # each image still travels with its own score


def test_keep_highest_scored_rejects_mismatched_input():
    with pytest.raises(ValueError, match="one score per image"):
        sampling.keep_highest_scored(np.zeros((4, 2, 2, 1)), np.zeros(3), 2)
    with pytest.raises(ValueError, match="count"):
        sampling.keep_highest_scored(np.zeros((4, 2, 2, 1)), np.zeros(4), 5)


def tiny_generator_and_discriminator():
    """G copies its 4 noise numbers into a 2x2 image; D scores an image by its mean pixel."""
    generator = keras.Sequential([keras.Input((4,)), keras.layers.Reshape((2, 2, 1))])
    discriminator = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.GlobalAveragePooling2D()])
    return generator, discriminator


def test_nice_generation_draws_20x_and_keeps_the_ones_the_discriminator_rates_highest():
    generator, discriminator = tiny_generator_and_discriminator()
    nice_images, nice_scores = sampling.generate(generator, 10, discriminator, nice=True, rng=1)
    candidates = sampling.uniform_noise(10 * 20, 4, rng=1).reshape(200, 2, 2, 1)  # the same 200 draws
    all_scores = candidates.mean(axis=(1, 2, 3))
    assert nice_images.shape == (10, 2, 2, 1)
    np.testing.assert_allclose(nice_scores, np.sort(all_scores)[::-1][:10], rtol=1e-6)
    np.testing.assert_allclose(nice_images.mean(axis=(1, 2, 3)), nice_scores, rtol=1e-6)
    plain_images, plain_scores = sampling.generate(generator, 10, discriminator, rng=1)
    assert plain_images.shape == (10, 2, 2, 1) and plain_scores.mean() < nice_scores.mean()


def test_plain_generation_without_a_discriminator_and_nice_needs_one():
    generator, _ = tiny_generator_and_discriminator()
    images, scores = sampling.generate(generator, 3, rng=0)
    assert images.shape == (3, 2, 2, 1) and scores is None
    with pytest.raises(ValueError, match="discriminator"):
        sampling.generate(generator, 3, nice=True)
