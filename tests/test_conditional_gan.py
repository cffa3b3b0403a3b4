"""Notebook 07's conditional GAN: labels in, the requested digit out; bad labels refused clearly."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_utils import data, losses, training
from tools.notebook_cells import definitions

NOTEBOOK = definitions("07_conditional_gan_mnist", "build_conditional_generator", "build_conditional_discriminator",
                       "one_hot_labels", "generate_digits")
one_hot_labels, generate_digits = NOTEBOOK["one_hot_labels"], NOTEBOOK["generate_digits"]


@pytest.fixture(scope="module")
def networks():
    keras.utils.set_random_seed(0)
    return NOTEBOOK["build_conditional_generator"](), NOTEBOOK["build_conditional_discriminator"]()


def test_one_hot_labels_of_digits():
    np.testing.assert_array_equal(one_hot_labels([3, 0]), [[0, 0, 0, 1, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]])
    assert one_hot_labels(np.arange(10)).dtype == np.float32


@pytest.mark.parametrize("digits, message", [
    ([[1, 2], [3, 4]], r"shaped \(N,\), got shape \(2, 2\)"),
    ([3, 10], "whole numbers from 0 to 9"),
    ([-1], "whole numbers from 0 to 9"),
    ([2.5], "whole numbers from 0 to 9"),
])
def test_a_wrong_label_shape_or_an_out_of_range_class_gets_a_clear_error(networks, digits, message):
    generator, _ = networks
    with pytest.raises(ValueError, match=message):
        generate_digits(generator, digits)


def test_generator_draws_one_image_per_requested_digit_and_the_label_changes_it(networks):
    generator, _ = networks
    images = generate_digits(generator, [7, 7, 1], seed=3)
    assert images.shape == (3, 28, 28, 1) and np.abs(images).max() <= 1.0
    noise = np.random.default_rng(0).normal(size=(2, 100)).astype("float32")
    seven, one = generator([noise, one_hot_labels([7, 7])]), generator([noise, one_hot_labels([1, 1])])
    assert not np.allclose(seven, one)  # same noise, another label: another image


def test_the_discriminator_scores_the_same_images_differently_under_another_label(networks):
    _, discriminator = networks
    images = tf.constant(data.load_mnist("sample")[0][:2])
    scores = [discriminator([images, tf.constant(one_hot_labels([digit, digit]))], training=False) for digit in (3, 8)]
    assert scores[0].shape == (2, 1) and not np.allclose(scores[0], scores[1])


def test_the_conditional_step_gives_both_networks_the_batchs_labels(monkeypatch, networks):
    namespace = definitions("07_conditional_gan_mnist", "ConditionalGAN",
                            given={"GAN": training.GAN, "generator_loss": losses.generator_loss,
                                   "discriminator_loss": losses.discriminator_loss})
    generator, discriminator = networks
    seen = []
    original_call = discriminator.call
    monkeypatch.setattr(discriminator, "call", lambda inputs, *args, **kwargs: seen.append(inputs[1]) or original_call(inputs, *args, **kwargs))
    gan = namespace["ConditionalGAN"](generator, discriminator, 100)
    gan.compile(keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4))
    images, labels = data.load_mnist("sample")
    logs = gan.train_step((tf.constant(images[:4]), tf.constant(one_hot_labels(labels[:4]))))
    assert set(logs) == {"d_loss", "g_loss", "real_score", "fake_score"}
    assert len(seen) >= 2 and all(np.array_equal(label, one_hot_labels(labels[:4])) for label in seen[-2:])
