"""Runs made to fail on purpose: a NaN loss stops training clearly; a winning discriminator and a collapsed generator warn."""

import inspect
import math
import re
import warnings

import keras
import numpy as np
import pytest
from keras import layers

from gan_utils import callbacks, data, metrics, models, training

LATENT_DIM = 8


def tiny_gan(generator_lr=1e-3, discriminator_lr=1e-3, generator=None, steps_per_execution=1):
    keras.utils.set_random_seed(0)
    generator = generator or keras.Sequential(
        [keras.Input((LATENT_DIM,)), layers.Dense(28 * 28, activation="tanh"), layers.Reshape((28, 28, 1))])
    discriminator = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(16, activation="relu"), layers.Dense(1)])
    gan = training.GAN(generator, discriminator, latent_dim=LATENT_DIM)
    gan.compile(keras.optimizers.Adam(generator_lr), keras.optimizers.Adam(discriminator_lr),
                steps_per_execution=steps_per_execution)
    return gan


def digits(count=64, batch_size=16):
    images, _ = data.load_mnist("sample")
    return data.make_dataset(images[:count], batch_size, shuffle=False)


def started_monitor(gan, **monitor_settings):
    """A DivergenceMonitor watching ``gan``, as fit() leaves it before the first step."""
    monitor = callbacks.DivergenceMonitor(**monitor_settings)
    monitor.set_model(gan)
    monitor.on_train_begin()
    return monitor


def constant_generator():
    """The same image, in [-1, 1], for every noise vector."""
    return keras.Sequential([keras.Input((LATENT_DIM,)), layers.Dense(28 * 28, activation="tanh", kernel_initializer="zeros",
                                                                      bias_initializer="random_normal"), layers.Reshape((28, 28, 1))])


def test_a_nan_loss_stops_training_naming_epoch_step_and_causes_and_keeps_the_last_checkpoint(tmp_path):
    gan = tiny_gan()
    checkpoint = callbacks.GANCheckpoint(gan, tmp_path)
    monitor = callbacks.DivergenceMonitor()
    gan.fit(digits(), epochs=1, verbose=0, callbacks=[monitor, callbacks.CheckpointCallback(checkpoint)])
    good_weights = [np.array(weight) for weight in gan.generator.weights]

    gan.generator_optimizer.learning_rate = 1e30  # a learning-rate typo: the weights blow up
    gan.discriminator_optimizer.learning_rate = 1e30
    with pytest.raises(callbacks.TrainingDivergedError) as raised:
        gan.fit(digits(), epochs=3, initial_epoch=1, verbose=0, callbacks=[monitor, callbacks.CheckpointCallback(checkpoint)])
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
    won = [str(warning.message) for warning in caught if "discriminator has won" in str(warning.message)]
    assert len(won) == 1
    assert int(re.search(r"step (\d+);", won[0]).group(1)) % 5 == 0  # at the end of the call in which the streak reached 10


class RunningMeans:
    """What Keras hands a callback after each step: each log's mean over the epoch so far."""

    def __init__(self):
        self.sums, self.steps = {}, 0

    def step(self, **values):
        self.steps += 1
        for name, value in values.items():
            self.sums[name] = self.sums.get(name, 0.0) + value
        return {name: total / self.steps for name, total in self.sums.items()}


def test_the_discriminator_warning_judges_each_step_not_the_epochs_running_mean():
    """50 healthy steps, then D rejects every fake for 10 steps: the epoch's mean of D(G(z)) stays high
    (about 0.75), each step's value does not. Steps are fed to the monitor as Keras logs them."""
    monitor = started_monitor(tiny_gan(), patience_steps=10)
    monitor.on_epoch_begin(0)
    means = RunningMeans()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(60):
            fake_score = 0.9 if step < 50 else 0.001
            monitor.on_train_batch_end(step, means.step(d_loss=1.0, g_loss=0.7 if step < 50 else 7.0, fake_score=fake_score))
    assert means.sums["fake_score"] / means.steps > 0.7
    won = [str(warning.message) for warning in caught if "discriminator has won" in str(warning.message)]
    assert len(won) == 1 and "step 60;" in won[0] and "g_loss went from 7.00 to 7.00" in won[0]


@pytest.mark.parametrize("name", ["d_loss", "g_loss"])
def test_a_nan_in_either_loss_alone_stops_training_with_the_causes_and_the_way_on(name):
    monitor = started_monitor(tiny_gan())
    monitor.on_epoch_begin(2)
    logs = {"d_loss": 1.0, "g_loss": 1.0, "fake_score": 0.5}
    monitor.on_train_batch_end(0, logs)
    with pytest.raises(callbacks.TrainingDivergedError) as stopped:
        monitor.on_train_batch_end(6, dict(logs, **{name: math.nan}))
    assert str(stopped.value) == (
        f"Training diverged: {name} became nan at epoch 3, step 7, so the weights now hold NaN or infinite values and "
        "training was stopped. Likely causes: a learning rate too high for this model (the DCGAN articles use Adam at "
        "1e-4 to 2e-4; try ten times lower), or training images not scaled to [-1, 1] (check them with "
        "gan_utils.data.check_images; gan_utils.data.to_unit_range scales [0, 255] pixels). Fix the cause and run "
        "again: training continues from the last checkpoint saved before the NaN, with the learning rates you compiled.")


def test_logs_without_d_of_g_z_get_the_nan_check_only():
    """Notebook 08's WGAN-GP logs d_loss, g_loss, wasserstein and penalty: its critic scores, it gives no D(G(z))."""
    monitor = started_monitor(tiny_gan(), patience_steps=1)
    monitor.on_epoch_begin(0)
    logs = {"d_loss": -5.0, "g_loss": 3.0, "wasserstein": 5.0, "penalty": 0.1}
    with warnings.catch_warnings():
        warnings.simplefilter("error", callbacks.GANTrainingWarning)
        for step in range(3):
            monitor.on_train_batch_end(step, logs)
    with pytest.raises(callbacks.TrainingDivergedError, match="d_loss became nan at epoch 1, step 4"):
        monitor.on_train_batch_end(3, dict(logs, d_loss=math.nan))


def won_warnings(epochs, **monitor_settings):
    """The monitor's "discriminator has won" warnings for ``epochs``: each a list of calls (Keras calls back once per
    ``steps_per_execution`` steps), each call the D(G(z)) of the steps it covers."""
    monitor = started_monitor(tiny_gan(), **monitor_settings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for epoch, calls in enumerate(epochs):
            monitor.on_epoch_begin(epoch)
            means = RunningMeans()
            for fake_scores in calls:
                for fake_score in fake_scores:
                    logs = means.step(d_loss=1.0, g_loss=1.0, fake_score=fake_score)
                monitor.on_train_batch_end(means.steps - 1, logs)
    return [str(warning.message) for warning in caught if "discriminator has won" in str(warning.message)]


def test_the_first_call_of_each_epoch_reads_the_steps_it_covers():
    """An epoch's first call has no earlier total to subtract: its value is the mean of its own steps, and it
    counts them all (three with steps_per_execution=3)."""
    assert won_warnings([[[0.5]] * 3] * 2, patience_steps=1) == []  # every step 0.5, one step per call: none below the floor
    won = won_warnings([[[0.5, 0.5, 0.5]], [[0.0, 0.0, 0.12]]], patience_steps=3)  # epoch 2: three steps averaging 0.04
    assert len(won) == 1 and "for 3 steps (epoch 2, step 3;" in won[0]


def test_the_discriminator_wins_only_below_the_floor_and_the_warning_says_how_g_loss_went():
    """D(G(z)) at the floor itself is no win; the warning gives g_loss at the streak's first step and now.
    One step per epoch: each step's value reaches the monitor as it is, with no running mean to undo."""
    monitor = started_monitor(tiny_gan(), patience_steps=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for epoch, (fake_score, g_loss) in enumerate([(0.05, 1.0)] * 5 + [(0.01, 2.0), (0.01, 4.0), (0.01, 7.0)]):
            monitor.on_epoch_begin(epoch)
            monitor.on_train_batch_end(0, {"d_loss": 0.1, "g_loss": g_loss, "fake_score": fake_score})
    assert [str(warning.message) for warning in caught] == [
        "The discriminator has won: D(G(z)) stayed below 0.05 for 3 steps (epoch 8, step 1; g_loss went from 2.00 to "
        "7.00). It rejects every generated image, so the generator learns little. Try a lower discriminator learning "
        "rate, one-sided label smoothing, or check that real images are in [-1, 1] like the generator's tanh output."]


def test_by_default_the_discriminator_warning_comes_after_100_steps_counted_from_the_first():
    won = won_warnings([[[0.0]] * 120])
    assert len(won) == 1 and "for 100 steps (epoch 1, step 100;" in won[0]
    assert won_warnings([[[0.0]]], patience_steps=1) != []  # a patience of one step is allowed


def test_a_collapsed_generator_gets_a_warning():
    gan = tiny_gan(generator_lr=0.0, generator=constant_generator())
    with pytest.warns(callbacks.GANTrainingWarning, match="generator may have collapsed: after epoch 1"):
        gan.fit(digits(), epochs=1, verbose=0, callbacks=[callbacks.DivergenceMonitor()])


def test_the_collapse_check_reads_the_generator_in_inference_mode_as_it_draws_samples():
    """Batch normalisation whose moving variance squashes the noise: every sample the same (a collapse), while
    training mode, normalising each batch by itself, would draw 16 different images."""
    normalise, draw = layers.BatchNormalization(center=False, scale=False), layers.Dense(28 * 28)
    generator = keras.Sequential([keras.Input((LATENT_DIM,)), normalise, draw, layers.Reshape((28, 28, 1))])
    normalise.moving_variance.assign(np.full(LATENT_DIM, 1e8))
    draw.bias.assign(data.load_mnist("sample")[0][0].reshape(-1))  # one digit, whatever the noise
    monitor = started_monitor(gan_of(generator))
    with pytest.warns(callbacks.GANTrainingWarning) as caught:
        monitor.on_epoch_end(0)
    diversity = callbacks.sample_diversity(generator(monitor.generator_inputs, training=False))
    assert [str(warning.message) for warning in caught] == [
        f"The generator may have collapsed: after epoch 1 its images for 16 different noise vectors are nearly identical "
        f"(diversity {diversity:.3f} < 0.05). Training rarely recovers from this; restart from an earlier checkpoint with "
        "lower learning rates, or a discriminator that trains less."]
    assert callbacks.sample_diversity(generator(monitor.generator_inputs, training=True)) > 0.2  # floor: 0.05


def test_a_diversity_floor_of_zero_switches_the_collapse_check_off():
    monitor = started_monitor(gan_of(constant_generator()), diversity_floor=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", callbacks.GANTrainingWarning)
        monitor.on_epoch_end(0)


def test_by_default_the_collapse_check_draws_the_same_16_noise_vectors_every_time():
    first, second = started_monitor(tiny_gan()), started_monitor(tiny_gan())
    assert first.generator_inputs.shape == (16, LATENT_DIM)
    np.testing.assert_array_equal(first.generator_inputs, second.generator_inputs)


def read_as(classes, confidence):
    """Classifier probabilities (N, 10): image i read as ``classes[i]`` with ``confidence``, the rest spread evenly."""
    probabilities = np.full((len(classes), 10), (1.0 - confidence) / 9)
    probabilities[np.arange(len(classes)), classes] = confidence
    return probabilities


def test_by_default_the_class_check_reads_500_images(monkeypatch):
    monkeypatch.setattr(metrics, "classifier_outputs", lambda classifier, images: (None, read_as([1] * len(images), 0.95)))
    monitor = started_monitor(gan_of(generator_of(data.load_mnist("sample")[0][:10])), classifier="given above")
    with pytest.warns(callbacks.GANTrainingWarning) as caught:
        monitor.on_epoch_end(0)
    assert [str(warning.message) for warning in caught] == [
        "Mode collapse: after epoch 1 the classifier reads only 1.0 of 10 classes in the 500 of 500 generated images it "
        "can read (most common: 1: 100%, 0: 0%, 2: 0%). The generator draws a few classes well and ignores the rest. "
        "Try an earlier checkpoint, more training images (a few seen many times invite this), a lower generator "
        "learning rate, or one-sided label smoothing."]


def test_a_healthy_run_gets_no_warning():
    gan = tiny_gan(generator_lr=1e-4, discriminator_lr=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", callbacks.GANTrainingWarning)
        gan.fit(digits(), epochs=2, verbose=0, callbacks=[callbacks.DivergenceMonitor(patience_steps=2)])


def test_sample_diversity_is_zero_for_identical_images_and_high_for_digits_and_an_untrained_dcgan():
    images, _ = data.load_mnist("sample")
    assert callbacks.sample_diversity(np.repeat(images[:1], 16, axis=0)) == pytest.approx(0.0, abs=1e-6)
    assert callbacks.sample_diversity(images[:16]) > 0.3
    keras.utils.set_random_seed(0)
    untrained = models.build_dcgan_generator()(np.random.default_rng(0).normal(size=(16, 100)).astype("float32"), training=False)
    assert callbacks.sample_diversity(untrained) > 0.3  # faint, but different for each noise vector


def test_divergence_monitor_rejects_a_bad_patience():
    with pytest.raises(ValueError, match="patience_steps"):
        callbacks.DivergenceMonitor(patience_steps=0)


@pytest.fixture(scope="module")
def digit_classifier(tmp_path_factory):
    images, labels = data.load_mnist("sample")
    path = tmp_path_factory.mktemp("classifier") / "classifier.keras"
    return metrics.load_domain_classifier(path=path, images=images[:600], labels=labels[:600], epochs=15)


def generator_of(digit_images):
    """A 'generator' whose every output is one of ``digit_images`` (K, 28, 28, 1): its noise (batch, K) picks which."""
    pick = layers.Dense(len(digit_images), use_bias=False, kernel_initializer="identity")
    draw = layers.Dense(28 * 28, use_bias=False)
    generator = keras.Sequential([keras.Input((len(digit_images),)), pick, layers.Lambda(lambda x: x * 50.0),
                                  layers.Softmax(), draw, layers.Reshape((28, 28, 1))])
    draw.set_weights([digit_images.reshape(len(digit_images), -1)])
    return generator


def gan_of(generator, steps_taken=200):
    """A GAN around ``generator`` whose generator has taken ``steps_taken`` steps (the monitor's default start)."""
    gan = training.GAN(generator, keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(1)]),
                       latent_dim=generator.input_shape[-1])
    gan.compile(keras.optimizers.SGD(), keras.optimizers.SGD())
    gan.generator_optimizer.iterations.assign(steps_taken)
    return gan


def class_warnings(generator, classifier, steps_taken=200, **monitor_settings):
    gan = gan_of(generator, steps_taken)
    monitor = started_monitor(gan, classifier=classifier, num_class_samples=300, **monitor_settings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        monitor.on_epoch_end(0)
    return [str(warning.message) for warning in caught if "Mode collapse" in str(warning.message)]


def test_a_generator_that_draws_only_ones_and_sevens_gets_a_mode_collapse_warning(digit_classifier):
    images, labels = data.load_mnist("sample")
    ones_and_sevens = images[900:][np.isin(labels[900:], [1, 7])]
    assert metrics.class_histogram(digit_classifier, ones_and_sevens)[[1, 7]].sum() > 0.8
    caught = class_warnings(generator_of(ones_and_sevens), digit_classifier)
    assert len(caught) == 1 and "after epoch 1" in caught[0] and re.search(r"reads only [12]\.\d of 10 classes", caught[0])


def test_the_class_check_starts_at_the_generators_class_check_after_steps_th_step(digit_classifier):
    """Before, a healthy generator's blobs may be read as one digit: in notebook 09, seed 1, 61% of them as 8s."""
    images, labels = data.load_mnist("sample")
    ones_and_sevens = generator_of(images[900:][np.isin(labels[900:], [1, 7])])
    assert class_warnings(ones_and_sevens, digit_classifier, steps_taken=199) == []
    assert len(class_warnings(ones_and_sevens, digit_classifier, steps_taken=200)) == 1
    assert len(class_warnings(ones_and_sevens, digit_classifier, steps_taken=50, class_check_after_steps=50)) == 1


def test_a_generator_that_draws_every_digit_gets_no_mode_collapse_warning(digit_classifier):
    images, labels = data.load_mnist("sample")
    shares = metrics.class_histogram(digit_classifier, images[900:])
    assert shares.sum() == pytest.approx(1.0) and shares.min() > 0.03  # about 10% each, like real MNIST
    assert class_warnings(generator_of(images[900:]), digit_classifier) == []


@pytest.mark.parametrize("probabilities, warned", [
    (read_as([1, 7] * 150, 0.9), True),  # read with exactly min_confidence: counted
    (np.concatenate([read_as([1] * 150, 0.95), read_as([0] * 150, 0.1)]), True),  # exactly half readable: counted
    (read_as([0, 1, 3, 7] * 75, 0.95), True),  # four of ten classes: fewer than half
    (read_as([0, 1, 3, 7, 8] * 60, 0.95), False),  # five of ten: half, not fewer
])
def test_the_class_check_counts_from_min_confidence_on_and_warns_below_half_of_the_classes(monkeypatch, probabilities, warned):
    """The classifier's readings are given here, so that each boundary is met exactly."""
    monkeypatch.setattr(metrics, "classifier_outputs", lambda classifier, images: (None, probabilities))
    caught = class_warnings(generator_of(data.load_mnist("sample")[0][:10]), classifier="given above")
    assert len(caught) == warned


def test_the_mode_collapse_warning_reads_the_images_drawn_with_the_monitors_seed(digit_classifier, monkeypatch):
    images, labels = data.load_mnist("sample")
    generator = generator_of(images[900:][np.isin(labels[900:], [1, 7])])
    gan = gan_of(generator)
    monitor = started_monitor(gan, classifier=digit_classifier, num_class_samples=300, seed=5)
    seeds, generate_images = [], metrics.generate_images

    def recording_the_seed(*args, **kwargs):
        seeds.append(inspect.signature(generate_images).bind(*args, **kwargs).arguments.get("seed", "the default"))
        return generate_images(*args, **kwargs)

    monkeypatch.setattr(metrics, "generate_images", recording_the_seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        monitor.on_epoch_end(0)
    monkeypatch.undo()
    assert seeds == [5]
    _, probabilities = metrics.classifier_outputs(digit_classifier, metrics.generate_images(generator, 300, seed=5))
    readable = probabilities[probabilities.max(axis=1) >= 0.9].argmax(axis=1)
    shares = np.bincount(readable, minlength=10) / len(readable)
    most_common = ", ".join(f"{label}: {shares[label]:.0%}" for label in np.argsort(-shares, kind="stable")[:3])
    assert [f"(most common: {most_common})" in str(warning.message) for warning in caught] == [True]


def test_early_training_blobs_that_the_classifier_cannot_read_get_no_mode_collapse_warning(digit_classifier):
    """An untrained DCGAN draws faint blobs; read anyway, most land in one class, which is no collapse."""
    keras.utils.set_random_seed(0)
    untrained = models.build_dcgan_generator(latent_dim=LATENT_DIM)
    blobs = metrics.generate_images(untrained, 300)
    assert metrics.effective_classes(metrics.class_histogram(digit_classifier, blobs)) < 5  # counted blindly: "collapse"
    assert class_warnings(untrained, digit_classifier, min_confidence=0.0) != []  # what counting every image said
    assert class_warnings(untrained, digit_classifier) == []
