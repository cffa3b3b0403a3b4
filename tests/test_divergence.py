"""Runs made to fail on purpose: a NaN loss stops training clearly; a winning discriminator and a collapsed generator warn."""

import re
import warnings

import keras
import numpy as np
import pytest
from keras import layers

from gan_utils import callbacks, data, models, training

LATENT_DIM = 8


def tiny_gan(generator_lr=1e-3, discriminator_lr=1e-3, generator=None, steps_per_execution=1):
    keras.utils.set_random_seed(0)
    generator = generator or keras.Sequential(
        [keras.Input((LATENT_DIM,)), layers.Dense(28 * 28, activation="tanh"), layers.Reshape((28, 28, 1))])
    discriminator = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(16, activation="relu"), layers.Dense(1)])
    gan = training.GAN(generator, discriminator, seed=0)
    gan.compile(keras.optimizers.Adam(generator_lr), keras.optimizers.Adam(discriminator_lr),
                steps_per_execution=steps_per_execution)
    return gan


def digits(count=64, batch_size=16):
    images, _ = data.load_mnist_sample()
    return data.make_dataset(images[:count], batch_size, shuffle=False)


def test_a_nan_loss_stops_training_naming_epoch_step_and_causes_and_keeps_the_last_checkpoint(tmp_path):
    gan = tiny_gan()
    checkpoint = callbacks.GANCheckpoint(gan, tmp_path)
    monitor = callbacks.DivergenceMonitor()
    gan.fit(digits(), epochs=1, verbose=0, callbacks=[monitor, callbacks.CheckpointCallback(checkpoint, 1)])
    good_weights = [np.array(weight) for weight in gan.generator.weights]

    gan.generator_optimizer.learning_rate = 1e30  # a learning-rate typo: the weights blow up
    gan.discriminator_optimizer.learning_rate = 1e30
    with pytest.raises(callbacks.TrainingDivergedError) as raised:
        gan.fit(digits(), epochs=3, initial_epoch=1, verbose=0, callbacks=[monitor, callbacks.CheckpointCallback(checkpoint, 1)])
    message = str(raised.value)
    assert "epoch 2, step " in message and ("nan" in message or "inf" in message)
    assert "learning rate" in message and "[-1, 1]" in message
    assert not all(np.isfinite(np.array(weight)).all() for weight in gan.generator.weights + gan.discriminator.weights)

    restored = tiny_gan(generator_lr=1e-4)
    restored_checkpoint = callbacks.GANCheckpoint(restored, tmp_path)
    assert restored_checkpoint.restore_latest() == 1  # the NaN epoch was never saved
    for good, weight in zip(good_weights, restored.generator.weights):
        np.testing.assert_array_equal(np.array(weight), good)
    assert float(restored.generator_optimizer.learning_rate) == pytest.approx(1e-4)  # the new rate, not the saved one
    assert len(restored_checkpoint.history["g_loss"]) == 1


def test_a_discriminator_that_wins_for_many_steps_gets_a_warning():
    gan = tiny_gan(generator_lr=0.0, discriminator_lr=5e-2)  # a frozen generator: D learns to reject it
    with pytest.warns(callbacks.GANTrainingWarning, match=r"discriminator has won: D\(G\(z\)\) stayed below 0.05 for 10 steps"):
        gan.fit(digits(320), epochs=2, verbose=0, callbacks=[callbacks.DivergenceMonitor(patience_steps=10)])


def test_the_discriminator_warning_counts_steps_not_calls_with_steps_per_execution():
    """With steps_per_execution=5 (a GPU default is 32) callbacks run every 5 steps: 10 steps are 2 calls."""
    gan = tiny_gan(generator_lr=0.0, discriminator_lr=5e-2, steps_per_execution=5)
    with pytest.warns(callbacks.GANTrainingWarning, match=r"stayed below 0.05 for 10 steps \(epoch \d, step \d+;") as caught:
        gan.fit(digits(320), epochs=2, verbose=0, callbacks=[callbacks.DivergenceMonitor(patience_steps=10)])
    step = int(re.search(r"step (\d+);", str(caught[0].message)).group(1))
    assert step % 5 == 0  # reported at the end of the call in which the streak reached 10 steps
    assert len([warning for warning in caught if "discriminator has won" in str(warning.message)]) == 1


def test_a_collapsed_generator_gets_a_warning():
    constant = keras.Sequential([keras.Input((LATENT_DIM,)), layers.Dense(28 * 28, activation="tanh", kernel_initializer="zeros",
                                                                          bias_initializer="random_normal"), layers.Reshape((28, 28, 1))])
    gan = tiny_gan(generator_lr=0.0, generator=constant)  # the same image for every noise vector
    with pytest.warns(callbacks.GANTrainingWarning, match="generator may have collapsed: after epoch 1"):
        gan.fit(digits(), epochs=1, verbose=0, callbacks=[callbacks.DivergenceMonitor()])


def test_a_healthy_run_gets_no_warning():
    gan = tiny_gan(generator_lr=1e-4, discriminator_lr=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", callbacks.GANTrainingWarning)
        gan.fit(digits(), epochs=2, verbose=0, callbacks=[callbacks.DivergenceMonitor(patience_steps=2)])


def test_sample_diversity_is_zero_for_identical_images_and_high_for_digits_and_an_untrained_dcgan():
    images, _ = data.load_mnist_sample()
    assert callbacks.sample_diversity(np.repeat(images[:1], 16, axis=0)) == pytest.approx(0.0, abs=1e-6)
    assert callbacks.sample_diversity(images[:16]) > 0.3
    keras.utils.set_random_seed(0)
    untrained = models.build_dcgan_generator()(np.random.default_rng(0).normal(size=(16, 100)).astype("float32"), training=False)
    assert callbacks.sample_diversity(untrained) > 0.3  # faint, but different for each noise vector


def test_divergence_monitor_rejects_a_bad_patience():
    with pytest.raises(ValueError, match="patience_steps"):
        callbacks.DivergenceMonitor(patience_steps=0)
