"""Notebook 02's losses: binary cross-entropy on logits, worked out by hand."""

import math

import pytest
import tensorflow as tf

from gan_utils import losses


def softplus(x):  # -log(sigmoid(-x)): the cross-entropy of a logit x against the label 0
    return math.log(1 + math.exp(x))


def test_discriminator_and_generator_losses_match_the_hand_computation():
    real, fake = tf.constant([[3.0], [1.0]]), tf.constant([[-2.0], [0.5]])
    expected_d = (softplus(-3) + softplus(-1)) / 2 + (softplus(-2) + softplus(0.5)) / 2
    expected_g = (softplus(2) + softplus(-0.5)) / 2
    assert float(losses.discriminator_loss(real, fake)) == pytest.approx(expected_d, rel=1e-6)
    assert float(losses.generator_loss(fake)) == pytest.approx(expected_g, rel=1e-6)


def test_a_logit_of_zero_costs_log_2_whatever_the_label():
    zero = tf.zeros((4, 1))
    assert float(losses.generator_loss(zero)) == pytest.approx(math.log(2), rel=1e-6)
    assert float(losses.discriminator_loss(zero, zero)) == pytest.approx(2 * math.log(2), rel=1e-6)


def test_one_sided_label_smoothing_targets_0_9_for_real_images_only():
    real, fake = tf.constant([[2.0]]), tf.constant([[-50.0]])  # the fake term is softplus(-50), about 0
    s = 1 / (1 + math.exp(-2))
    smoothed = -(0.9 * math.log(s) + 0.1 * math.log(1 - s))
    assert float(losses.discriminator_loss(real, fake, real_label=0.9)) == pytest.approx(smoothed, rel=1e-6)
    assert float(losses.discriminator_loss(real, fake)) == pytest.approx(-math.log(s), rel=1e-6)
    real, fake = tf.constant([[50.0]]), tf.constant([[1.0]])  # now the real term is about 0 without smoothing
    assert float(losses.discriminator_loss(real, fake, real_label=0.9)) - float(losses.discriminator_loss(real, fake)) \
        == pytest.approx(0.1 * 50, rel=1e-3)  # smoothing charges 0.1 * logit for an overconfident "real"


def test_confident_mistakes_cost_linearly_in_the_logit_without_clipping():
    assert float(losses.generator_loss(tf.constant([[-30.0]]))) == pytest.approx(30.0, rel=1e-6)
    assert float(losses.generator_loss(tf.constant([[-200.0]]))) == pytest.approx(200.0, rel=1e-6)
