import keras
import numpy as np
import pytest

from gan_utils import callbacks, data, models, training


def compiled_gan(generator=None, discriminator=None):
    gan = training.GAN(generator or models.build_dcgan_generator(), discriminator or models.build_dcgan_discriminator(), seed=0)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    return gan


def tiny_dataset(batches=2):
    images, _ = data.load_mnist_sample()
    return data.make_dataset(images[: 8 * batches], 8, shuffle=False)


def test_restored_checkpoint_gives_bit_identical_generator_output(tmp_path):
    keras.utils.set_random_seed(1)
    gan = compiled_gan()
    gan.fit(tiny_dataset(), epochs=1, verbose=0, shuffle=False)
    checkpoint = callbacks.GANCheckpoint(gan, tmp_path)
    checkpoint.save(1)
    noise = np.random.default_rng(0).normal(size=(4, 100)).astype("float32")
    expected = np.array(gan.generator(noise, training=False))

    restored = compiled_gan()
    assert not np.array_equal(np.array(restored.generator(noise, training=False)), expected)
    restored_checkpoint = callbacks.GANCheckpoint(restored, tmp_path)
    assert restored_checkpoint.restore_latest() == 1
    np.testing.assert_array_equal(np.array(restored.generator(noise, training=False)), expected)
    assert restored.generator_optimizer.iterations.numpy() == gan.generator_optimizer.iterations.numpy() == 2


def test_restore_from_an_empty_folder_starts_at_epoch_zero(tmp_path):
    assert callbacks.GANCheckpoint(compiled_gan(), tmp_path / "none-yet").restore_latest() == 0


def test_checkpoint_of_another_architecture_is_refused_clearly(tmp_path):
    callbacks.GANCheckpoint(compiled_gan(), tmp_path).save(1)
    small_generator = keras.Sequential([keras.Input((100,)), keras.layers.Dense(28 * 28), keras.layers.Reshape((28, 28, 1))])
    other = compiled_gan(generator=small_generator)
    with pytest.raises(callbacks.CheckpointMismatchError, match="different architecture"):
        callbacks.GANCheckpoint(other, tmp_path).restore_latest()


def test_training_saves_a_frame_per_epoch_and_checkpoints_every_n_and_at_the_end(tmp_path):
    gan = compiled_gan()
    checkpoint = callbacks.GANCheckpoint(gan, tmp_path / "checkpoints")
    grids = callbacks.SampleGridCallback(np.zeros((4, 100), "float32"), tmp_path / "frames", show=False)
    saves = callbacks.CheckpointCallback(checkpoint, every_n_epochs=2)
    gan.fit(tiny_dataset(1), epochs=3, verbose=0, shuffle=False, callbacks=[grids, saves])
    assert sorted(path.name for path in (tmp_path / "frames").iterdir()) == ["epoch_0001.png", "epoch_0002.png", "epoch_0003.png"]
    assert [path.rsplit("-", 1)[1] for path in checkpoint.manager.checkpoints] == ["2", "3"]


def test_training_resumes_from_the_latest_checkpoint(tmp_path):
    gan = compiled_gan()
    checkpoint = callbacks.GANCheckpoint(gan, tmp_path)
    gan.fit(tiny_dataset(1), epochs=2, verbose=0, shuffle=False, callbacks=[callbacks.CheckpointCallback(checkpoint, 1)])

    resumed = compiled_gan()
    resumed_checkpoint = callbacks.GANCheckpoint(resumed, tmp_path)
    initial_epoch = resumed_checkpoint.restore_latest()
    history = resumed.fit(tiny_dataset(1), epochs=3, initial_epoch=initial_epoch, verbose=0, shuffle=False)
    assert initial_epoch == 2 and history.epoch == [2]
    assert resumed.generator_optimizer.iterations.numpy() == 3


def test_checkpoint_callback_rejects_a_bad_interval(tmp_path):
    with pytest.raises(ValueError, match="every_n_epochs"):
        callbacks.CheckpointCallback(callbacks.GANCheckpoint(compiled_gan(), tmp_path), every_n_epochs=0)


class GeneratorWeightsRecorder(keras.callbacks.Callback):
    """Keeps the generator's weights after each callback (each step, or each steps_per_execution steps)."""

    def __init__(self):
        super().__init__()
        self.snapshots = []

    def on_train_begin(self, logs=None):
        self.snapshots.append(training.snapshot_weights(self.model.generator))

    def on_train_batch_end(self, batch, logs=None):
        self.snapshots.append(training.snapshot_weights(self.model.generator))


def mlp_gan(steps_per_execution=1):
    keras.utils.set_random_seed(3)
    gan = training.GAN(models.build_mlp_generator(), models.build_mlp_discriminator(), from_logits=False, seed=0)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), steps_per_execution=steps_per_execution)
    return gan


def expected_average(snapshots, steps_per_callback, decay):
    """The EMA as documented: warmed-up decay per step, applied to the weights seen at each callback."""
    average = snapshots[0]
    for index, weights in enumerate(snapshots[1:]):
        keep = np.prod([min(decay, (1 + step) / (10 + step))
                        for step in range(index * steps_per_callback, (index + 1) * steps_per_callback)])
        average = [keep * old + (1 - keep) * new for old, new in zip(average, weights)]
    return average


@pytest.mark.parametrize("steps_per_execution", [1, 3])
def test_generator_ema_averages_every_step_also_with_steps_per_execution(steps_per_execution):
    gan = mlp_gan(steps_per_execution)
    recorder, ema = GeneratorWeightsRecorder(), callbacks.GeneratorEMA(decay=0.9)
    gan.fit(tiny_dataset(batches=6), epochs=1, verbose=0, callbacks=[recorder, ema])

    assert int(ema.step.numpy()) == 6 == int(gan.generator_optimizer.iterations.numpy())
    assert len(recorder.snapshots) == 1 + 6 // steps_per_execution
    expected = expected_average(recorder.snapshots, steps_per_execution, decay=0.9)
    for average, want in zip(ema.ema_generator.weights, expected):
        np.testing.assert_allclose(np.array(average), want, rtol=1e-5, atol=1e-6)


def test_checkpoint_saves_and_restores_the_generator_average(tmp_path):
    gan, ema = mlp_gan(), callbacks.GeneratorEMA(decay=0.9)
    checkpoint = callbacks.GANCheckpoint(gan, tmp_path, ema=ema)
    gan.fit(tiny_dataset(batches=3), epochs=1, verbose=0, callbacks=[ema])
    checkpoint.save(1)
    saved_average = training.snapshot_weights(ema.ema_generator)
    assert training.count_changed_weights(gan.generator, saved_average) > 0  # the average is not the generator

    resumed, resumed_ema = mlp_gan(), callbacks.GeneratorEMA(decay=0.9)
    assert callbacks.GANCheckpoint(resumed, tmp_path, ema=resumed_ema).restore_latest() == 1
    assert int(resumed_ema.step.numpy()) == 3
    assert training.count_changed_weights(resumed_ema.ema_generator, saved_average) == 0
    # Training on continues the average (step 4's decay) instead of restarting it from the generator.
    recorder = GeneratorWeightsRecorder()
    resumed.fit(tiny_dataset(batches=1), epochs=1, verbose=0, callbacks=[recorder, resumed_ema])
    keep = min(0.9, (1 + 3) / (10 + 3))
    for average, old, new in zip(resumed_ema.ema_generator.weights, saved_average, recorder.snapshots[-1]):
        np.testing.assert_allclose(np.array(average), keep * old + (1 - keep) * new, rtol=1e-5, atol=1e-6)


def test_checkpoint_saved_without_an_average_resumes_with_one(tmp_path):
    gan = mlp_gan()
    gan.fit(tiny_dataset(batches=2), epochs=1, verbose=0)
    callbacks.GANCheckpoint(gan, tmp_path).save(1)  # no ema=: as before GeneratorEMA was checkpointed

    resumed, ema = mlp_gan(), callbacks.GeneratorEMA(decay=0.9)
    assert callbacks.GANCheckpoint(resumed, tmp_path, ema=ema).restore_latest() == 1
    assert training.count_changed_weights(resumed.generator, training.snapshot_weights(gan.generator)) == 0
    # The average starts from the restored generator, not from the untrained copy it was built from.
    assert training.count_changed_weights(ema.ema_generator, training.snapshot_weights(gan.generator)) == 0
    assert int(ema.step.numpy()) == 0


def test_notebook_02_callbacks_run_under_the_gpu_compile_options(tmp_path):
    """Notebook 02's fit() on a GPU, run on the CPU: XLA and 32 steps per execution, with all its callbacks.

    40 batches an epoch are one execution of 32 steps and one of 8: every step trains, each epoch draws its
    frame, and the checkpoint of the last epoch restores the same generator and its average.
    """
    from gan_utils import hardware

    gpu_options = hardware.recommended_compile_options(has_gpu=True, distributed=False)
    assert gpu_options["steps_per_execution"] == 32
    gan = training.GAN(models.build_dcgan_generator(), models.build_dcgan_discriminator(), seed=0, real_label=0.9)
    gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5), **gpu_options)
    average = callbacks.GeneratorEMA(decay=0.9)
    checkpoint = callbacks.GANCheckpoint(gan, tmp_path / "checkpoints", ema=average)
    grids = callbacks.SampleGridCallback(np.zeros((4, 100), "float32"), tmp_path / "frames", show=False)
    history = gan.fit(tiny_dataset(40), epochs=2, verbose=0,
                      callbacks=[callbacks.DivergenceMonitor(), average, grids, callbacks.CheckpointCallback(checkpoint, 1)])

    assert gan.jit_compile is True
    assert gan.generator_optimizer.iterations.numpy() == gan.discriminator_optimizer.iterations.numpy() == 80
    assert all(np.isfinite(value) for values in history.history.values() for value in values)
    assert sorted(path.name for path in (tmp_path / "frames").iterdir()) == ["epoch_0001.png", "epoch_0002.png"]
    noise = np.random.default_rng(0).normal(size=(4, 100)).astype("float32")
    restored = compiled_gan()
    restored_average = callbacks.GeneratorEMA(decay=0.9)
    assert callbacks.GANCheckpoint(restored, tmp_path / "checkpoints", ema=restored_average).restore_latest() == 2
    np.testing.assert_array_equal(restored.generator(noise), gan.generator(noise))
    np.testing.assert_array_equal(restored_average.ema_generator(noise), average.ema_generator(noise))
    assert not np.array_equal(average.ema_generator(noise), gan.generator(noise))
