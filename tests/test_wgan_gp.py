"""Notebook 08's WGAN-GP: the gradient penalty worked out by hand, Algorithm 1's step, and a loss that may be large."""

import math
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from gan_utils import callbacks
from tools.notebook_cells import definitions

NOTEBOOK = definitions("08_wgan_gp_mnist", "build_critic", "gradient_penalty", "WGANGP")
gradient_penalty = NOTEBOOK["gradient_penalty"]


def linear_critic(weights, bias=0.0):
    """D(x) = w.x + b: its gradient is w everywhere, so its slope is |w| at every point."""
    critic = keras.Sequential([keras.Input((2, 2, 1)), layers.Flatten(), layers.Dense(1)])
    critic.layers[-1].kernel.assign(np.asarray(weights, "float32").reshape(4, 1))
    critic.layers[-1].bias.assign([bias])
    return critic


IMAGES = [tf.random.uniform((5, 2, 2, 1), -1, 1, seed=1), tf.random.uniform((5, 2, 2, 1), -1, 1, seed=2)]


def test_a_critic_whose_gradient_has_norm_1_everywhere_pays_no_penalty():
    assert float(gradient_penalty(linear_critic([0.5, 0.5, 0.5, 0.5], bias=3.0), *IMAGES)) == pytest.approx(0.0, abs=1e-6)
    assert float(gradient_penalty(linear_critic([0.6, 0.0, -0.8, 0.0]), *IMAGES)) == pytest.approx(0.0, abs=1e-6)


def test_the_penalty_is_positive_otherwise_and_exactly_the_hand_computed_value():
    # |w| = sqrt(1 + 4 + 4 + 16) = 5: every point pays (5 - 1)^2 = 16
    assert float(gradient_penalty(linear_critic([1.0, 2.0, -2.0, 4.0]), *IMAGES)) == pytest.approx(16.0, rel=1e-6)
    # |w| = 0.3: (0.3 - 1)^2 = 0.49
    assert float(gradient_penalty(linear_critic([0.3, 0.0, 0.0, 0.0]), *IMAGES)) == pytest.approx(0.49, rel=1e-5)


def test_the_penalty_is_taken_at_points_between_real_and_fake_images():
    """A critic D(x) = sum(x^2) / 2 has the gradient x: the penalty depends on where it is taken."""
    square = keras.Sequential([keras.Input((2, 2, 1)), layers.Lambda(lambda x: tf.reduce_sum(tf.square(x), axis=[1, 2, 3], keepdims=True)[:, :, 0, 0] / 2)])
    real, fake = tf.fill((3, 2, 2, 1), 0.25), tf.fill((3, 2, 2, 1), 0.25)  # the same point: |x| = 0.5, penalty 0.25
    assert float(gradient_penalty(square, real, fake)) == pytest.approx(0.25, rel=1e-5)
    far = tf.fill((3, 2, 2, 1), 1.0)  # between 0.25 and 1.0: |x| from 0.5 to 2, so the penalty lies in [0, 1]
    assert 0.0 <= float(gradient_penalty(square, real, far)) <= 1.0


def test_one_step_makes_five_critic_updates_and_one_generator_update():
    keras.utils.set_random_seed(0)
    generator = keras.Sequential([keras.Input((4,)), layers.Dense(4, activation="tanh"), layers.Reshape((2, 2, 1))])
    critic = linear_critic([0.1, 0.2, 0.3, 0.4])
    wgan = NOTEBOOK["WGANGP"](generator, critic, latent_dim=4, critic_steps=5, gp_weight=10.0)
    wgan.compile(keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9), keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9))
    logs = wgan.train_step(tf.random.uniform((5 * 3, 2, 2, 1), -1, 1))  # five batches of 3, one per critic update
    assert int(wgan.discriminator_optimizer.iterations) == 5 and int(wgan.generator_optimizer.iterations) == 1
    assert set(logs) == {"d_loss", "g_loss", "wasserstein", "penalty"}
    # The critic loss is the negative Wasserstein estimate plus 10 x the penalty (means over the five updates).
    assert float(logs["d_loss"]) == pytest.approx(-float(logs["wasserstein"]) + 10 * float(logs["penalty"]), rel=1e-4, abs=1e-5)


def test_the_divergence_monitor_takes_a_large_critic_loss_for_what_it_is():
    """A WGAN critic's loss is not bounded: hundreds is no failure, only NaN or infinity is."""
    monitor = callbacks.DivergenceMonitor(patience_steps=2)
    monitor.set_model(keras.Model())
    monitor.model.generator = keras.Sequential([keras.Input((4,)), layers.Dense(4), layers.Reshape((2, 2, 1))])
    monitor.on_train_begin()
    monitor.on_epoch_begin(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", callbacks.GANTrainingWarning)
        for step in range(10):
            monitor.on_train_batch_end(step, {"d_loss": -500.0 - step, "g_loss": 350.0, "wasserstein": 480.0, "penalty": 2.0})
    with pytest.raises(callbacks.TrainingDivergedError):
        monitor.on_train_batch_end(10, {"d_loss": math.nan, "g_loss": 350.0})
