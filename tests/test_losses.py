import math

import pytest
import tensorflow as tf

from gan_utils import losses


def test_bce_from_logits_matches_hand_computation():
    # logit 0 -> p = 0.5 -> -log(0.5) = log 2, whatever the label
    assert float(losses.binary_cross_entropy([[1.0], [0.0]], [[0.0], [0.0]])) == pytest.approx(math.log(2), rel=1e-6)
    # logit 2, label 1 -> -log(sigmoid(2)) = log(1 + e^-2)
    assert float(losses.binary_cross_entropy([[1.0]], [[2.0]])) == pytest.approx(math.log(1 + math.exp(-2)), rel=1e-6)


def test_bce_from_probabilities_matches_hand_computation():
    value = losses.binary_cross_entropy([[1.0], [0.0]], [[0.8], [0.1]], from_logits=False)
    assert float(value) == pytest.approx((-math.log(0.8) - math.log(0.9)) / 2, rel=1e-6)


def test_probability_form_is_clipped_instead_of_infinite():
    value = float(losses.binary_cross_entropy([[1.0]], [[0.0]], from_logits=False))
    assert math.isfinite(value) and value == pytest.approx(-math.log(losses.EPSILON), rel=1e-3)


def test_discriminator_and_generator_losses():
    real, fake = tf.constant([[3.0], [1.0]]), tf.constant([[-2.0], [0.5]])
    softplus = lambda x: math.log(1 + math.exp(x))  # -log(sigmoid(-x)) = softplus(x)
    expected_d = (softplus(-3) + softplus(-1)) / 2 + (softplus(-2) + softplus(0.5)) / 2
    expected_g = (softplus(2) + softplus(-0.5)) / 2
    assert float(losses.discriminator_loss(real, fake)) == pytest.approx(expected_d, rel=1e-6)
    assert float(losses.generator_loss(fake)) == pytest.approx(expected_g, rel=1e-6)
    # Same numbers from probabilities, as a sigmoid output layer would give them.
    assert float(losses.discriminator_loss(tf.sigmoid(real), tf.sigmoid(fake), from_logits=False)) == pytest.approx(expected_d, rel=1e-5)
    assert float(losses.generator_loss(tf.sigmoid(fake), from_logits=False)) == pytest.approx(expected_g, rel=1e-5)


def test_one_sided_label_smoothing_targets_0_9_for_real_images():
    real, fake = tf.constant([[2.0]]), tf.constant([[-50.0]])  # fake term ~ softplus(-50) ~ 0
    s = 1 / (1 + math.exp(-2))
    expected = -(0.9 * math.log(s) + 0.1 * math.log(1 - s))
    assert float(losses.discriminator_loss(real, fake, real_label=0.9)) == pytest.approx(expected, rel=1e-6)
    assert float(losses.discriminator_loss(real, fake)) == pytest.approx(-math.log(s), rel=1e-6)
