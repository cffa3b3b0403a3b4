"""Checkpoints, the generator average and the sample grids: what notebook 02 relies on to resume and to draw."""

import json
import math
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from gan_utils import callbacks, training, viz

LATENT_DIM = 8


def tiny_gan(seed=0, generator_width=16, generator_batch_norm=False):
    keras.utils.set_random_seed(seed)
    # Batch normalisation's moving statistics: generator weights that its optimizer does not hold.
    normalise = [layers.BatchNormalization()] if generator_batch_norm else []
    generator = keras.Sequential([keras.Input((LATENT_DIM,)), layers.Dense(generator_width, activation="relu"), *normalise,
                                  layers.Dense(28 * 28, activation="tanh"), layers.Reshape((28, 28, 1))])
    discriminator = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(16),
                                      layers.BatchNormalization(), layers.LeakyReLU(), layers.Dense(1)])
    gan = training.GAN(generator, discriminator, latent_dim=LATENT_DIM)
    # Eagerly: for a few steps of tiny networks, tracing a graph would take longer than running them.
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), run_eagerly=True)
    return gan


def tiny_dataset(batches=2, batch_size=8):
    images = np.random.default_rng(0).uniform(-1, 1, (batch_size * batches, 28, 28, 1)).astype("float32")
    return tf.data.Dataset.from_tensor_slices(images).batch(batch_size)


def all_weights(gan):
    return [np.array(weight) for weight in gan.generator.weights + gan.discriminator.weights]


def test_a_restored_checkpoint_holds_both_networks_and_both_optimizers_exactly(tmp_path):
    gan = tiny_gan(seed=1, generator_batch_norm=True)
    gan.fit(tiny_dataset(), epochs=1, verbose=0)
    callbacks.GANCheckpoint(gan, tmp_path).save(1)

    restored = tiny_gan(seed=2, generator_batch_norm=True)  # other initial weights
    assert any(not np.array_equal(a, b) for a, b in zip(all_weights(restored), all_weights(gan)))
    assert callbacks.GANCheckpoint(restored, tmp_path).restore_latest() == 1
    for restored_weight, trained_weight in zip(all_weights(restored), all_weights(gan)):
        np.testing.assert_array_equal(restored_weight, trained_weight)  # both networks' moving statistics too
    for optimizer, trained in ((restored.generator_optimizer, gan.generator_optimizer),
                               (restored.discriminator_optimizer, gan.discriminator_optimizer)):
        assert int(optimizer.iterations) == int(trained.iterations) == 2
        for slot, trained_slot in zip(optimizer.variables, trained.variables):  # Adam's moments
            np.testing.assert_array_equal(np.array(slot), np.array(trained_slot))


def test_optimizers_not_built_yet_are_built_and_restored_too(tmp_path):
    """The series' GANs build their optimizers in compile; a GAN class that does not gets them built here."""
    gan = tiny_gan(seed=1)
    gan.fit(tiny_dataset(), epochs=1, verbose=0)
    callbacks.GANCheckpoint(gan, tmp_path).save(1)
    restored = tiny_gan(seed=2)
    restored.generator_optimizer, restored.discriminator_optimizer = keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3)
    assert callbacks.GANCheckpoint(restored, tmp_path).restore_latest() == 1
    for optimizer, trained in ((restored.generator_optimizer, gan.generator_optimizer),
                               (restored.discriminator_optimizer, gan.discriminator_optimizer)):
        assert int(optimizer.iterations) == 2 and len(optimizer.variables) == len(trained.variables)
        for slot, trained_slot in zip(optimizer.variables, trained.variables):
            np.testing.assert_array_equal(np.array(slot), np.array(trained_slot))


def test_checkpoints_name_what_they_hold_and_keep_the_newest_3_by_default(tmp_path):
    """The names are the checkpoint's format: a run resumed after an update of gan_utils looks them up."""
    checkpoint = callbacks.GANCheckpoint(tiny_gan(generator_batch_norm=True), tmp_path)
    for epoch in range(1, 6):
        checkpoint.save(epoch)
    assert sorted(path.name for path in tmp_path.glob("ckpt-*.index")) == ["ckpt-3.index", "ckpt-4.index", "ckpt-5.index"]
    saved = {name.split("/")[0] for name, _ in tf.train.list_variables(str(tmp_path / "ckpt-5"))}
    assert {"generator", "discriminator", "generator_optimizer", "discriminator_optimizer", "epoch"} <= saved


def test_restore_from_an_empty_folder_starts_at_epoch_zero(tmp_path):
    assert callbacks.GANCheckpoint(tiny_gan(), tmp_path / "none-yet").restore_latest() == 0


def test_checkpoint_of_another_architecture_is_refused_clearly(tmp_path):
    callbacks.GANCheckpoint(tiny_gan(), tmp_path).save(1)
    with pytest.raises(callbacks.CheckpointMismatchError, match="different architecture"):
        callbacks.GANCheckpoint(tiny_gan(generator_width=32), tmp_path).restore_latest()


def test_training_saves_a_frame_and_a_checkpoint_per_epoch(tmp_path):
    gan = tiny_gan()
    checkpoint = callbacks.GANCheckpoint(gan, tmp_path / "checkpoints")
    grids = callbacks.SampleGridCallback(np.zeros((4, LATENT_DIM), "float32"), tmp_path / "frames", show=False)
    gan.fit(tiny_dataset(1), epochs=3, verbose=0, callbacks=[grids, callbacks.CheckpointCallback(checkpoint)])
    assert sorted(path.name for path in (tmp_path / "frames").iterdir()) == ["epoch_0001.png", "epoch_0002.png", "epoch_0003.png"]
    assert [path.rsplit("-", 1)[1] for path in checkpoint.manager.checkpoints] == ["1", "2", "3"]
    assert len(checkpoint.history["g_loss"]) == 3


def test_checkpoint_callback_never_saves_an_epoch_whose_logs_hold_a_nan(tmp_path):
    """Alone, without DivergenceMonitor in front of it: the guard of CheckpointCallback itself."""
    checkpoint = callbacks.GANCheckpoint(tiny_gan(), tmp_path)
    saver = callbacks.CheckpointCallback(checkpoint)
    saver.on_epoch_end(0, {"d_loss": 1.0, "g_loss": 0.5})
    saver.on_epoch_end(1, {"d_loss": math.nan, "g_loss": 0.5})
    saver.on_epoch_end(2, {"d_loss": 1.0, "g_loss": math.inf})
    assert [path.rsplit("-", 1)[1] for path in checkpoint.manager.checkpoints] == ["1"]
    assert checkpoint.history == {"d_loss": [1.0], "g_loss": [0.5]}


def test_replace_atomically_makes_missing_folders_and_leaves_only_the_file(tmp_path):
    path = tmp_path / "outputs" / "09_when_a_gan_goes_wrong" / "best_generator.keras"
    assert callbacks.replace_atomically(path, lambda temporary: temporary.write_text("weights")) == path
    assert path.read_text() == "weights" and [child.name for child in path.parent.iterdir()] == [path.name]


def test_history_is_written_atomically_so_a_save_killed_while_writing_leaves_the_last_one(tmp_path, monkeypatch):
    checkpoint = callbacks.GANCheckpoint(tiny_gan(), tmp_path)
    checkpoint.record_epoch(1, {"g_loss": 1.0})
    checkpoint.save(1)
    checkpoint.record_epoch(2, {"g_loss": 2.0})

    write_text = pathlib.Path.write_text

    def dies_half_way(path, text, *args, **kwargs):  # stands for the process being killed during the write
        write_text(path, text[: len(text) // 2], *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(pathlib.Path, "write_text", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(2)
    monkeypatch.undo()
    assert json.loads(checkpoint.history_path.read_text()) == {"g_loss": [1.0]}


def test_training_resumes_from_the_latest_checkpoint(tmp_path):
    gan = tiny_gan()
    checkpoint = callbacks.GANCheckpoint(gan, tmp_path)
    gan.fit(tiny_dataset(1), epochs=2, verbose=0, callbacks=[callbacks.CheckpointCallback(checkpoint)])

    resumed = tiny_gan()
    initial_epoch = callbacks.GANCheckpoint(resumed, tmp_path).restore_latest()
    history = resumed.fit(tiny_dataset(1), epochs=3, initial_epoch=initial_epoch, verbose=0)
    assert initial_epoch == 2 and history.epoch == [2]
    assert int(resumed.generator_optimizer.iterations) == 3


def test_start_says_whether_it_starts_continues_or_has_nothing_left_to_train(tmp_path, capsys):
    gan = tiny_gan()
    checkpoint = callbacks.GANCheckpoint(gan, tmp_path)
    assert checkpoint.start(epochs=2) == 0
    assert "Starting from scratch" in capsys.readouterr().out
    gan.fit(tiny_dataset(1), epochs=1, verbose=0, callbacks=[callbacks.CheckpointCallback(checkpoint)])

    assert callbacks.GANCheckpoint(tiny_gan(), tmp_path).start(epochs=2) == 1
    assert "Continuing after epoch 1 of 2" in capsys.readouterr().out

    assert callbacks.GANCheckpoint(tiny_gan(), tmp_path).start(epochs=1) == 1
    printed = capsys.readouterr().out
    assert "Nothing left to train" in printed and "Raise EPOCHS" in printed
    assert "or set RESUME = False to train from scratch with the current parameters." in printed


def test_start_without_resume_deletes_the_old_checkpoints_and_trains_from_scratch(tmp_path, capsys):
    gan = tiny_gan(seed=1)
    checkpoint = callbacks.GANCheckpoint(gan, tmp_path)
    gan.fit(tiny_dataset(1), epochs=1, verbose=0, callbacks=[callbacks.CheckpointCallback(checkpoint)])

    fresh = tiny_gan(seed=2)
    untrained = all_weights(fresh)
    fresh_checkpoint = callbacks.GANCheckpoint(fresh, tmp_path)
    assert fresh_checkpoint.start(epochs=1, resume=False) == 0
    assert "deleted the old checkpoints" in capsys.readouterr().out
    for weight, before in zip(all_weights(fresh), untrained):
        np.testing.assert_array_equal(weight, before)
    assert fresh_checkpoint.history == {} and not fresh_checkpoint.history_path.exists()
    fresh.fit(tiny_dataset(1), epochs=1, verbose=0, callbacks=[callbacks.CheckpointCallback(fresh_checkpoint)])
    assert [path.rsplit("-", 1)[1] for path in fresh_checkpoint.manager.checkpoints] == ["1"]


def test_a_checkpoint_of_other_data_is_refused_rather_than_continued(tmp_path):
    gan = tiny_gan()
    callbacks.GANCheckpoint(gan, tmp_path, run_info={"data": "sample", "latent_dim": LATENT_DIM}).save(1)
    same = callbacks.GANCheckpoint(tiny_gan(), tmp_path, run_info={"data": "sample", "latent_dim": LATENT_DIM})
    assert same.restore_latest() == 1
    other = callbacks.GANCheckpoint(tiny_gan(), tmp_path, run_info={"data": "keras", "latent_dim": LATENT_DIM})
    with pytest.raises(callbacks.CheckpointMismatchError, match=r"data='sample' \(this run: 'keras'\).*RESUME = False"):
        other.restore_latest()
    assert callbacks.GANCheckpoint(tiny_gan(), tmp_path, run_info={"data": "keras"}).start(1, resume=False) == 0


class SaveRecorder:
    """Stands in for a GANCheckpoint: records which epochs CheckpointCallback saves."""

    def __init__(self):
        self.saved = []

    def record_epoch(self, epoch_number, logs):
        pass

    def save(self, epoch_number):
        self.saved.append(epoch_number)


def test_checkpoint_callback_saves_each_epoch_once_and_goes_on_after_a_diverged_one():
    """Epochs are numbered from 1 in the checkpoints; the end of training saves nothing more."""
    recorder = SaveRecorder()
    saver = callbacks.CheckpointCallback(recorder)
    saver.on_train_end()
    assert recorder.saved == []
    for epoch, g_loss in enumerate((1.0, 1.0, math.nan, 1.0)):
        saver.on_epoch_end(epoch, {"g_loss": g_loss})
    saver.on_train_end()
    assert recorder.saved == [1, 2, 4]


def test_the_refusal_names_every_setting_that_differs_and_the_ways_out(tmp_path):
    callbacks.GANCheckpoint(tiny_gan(), tmp_path, run_info={"data": "sample", "steps": 100, "seed": 0}).save(1)
    other = callbacks.GANCheckpoint(tiny_gan(), tmp_path, run_info={"data": "keras", "steps": 200, "seed": 0})
    with pytest.raises(callbacks.CheckpointMismatchError) as refused:
        other.restore_latest()
    assert str(refused.value) == (
        f"The checkpoints in {tmp_path} were trained with data='sample' (this run: 'keras'), steps=100 (this run: 200). "
        f"Continuing them would mix two runs: start from scratch (RESUME = False in the notebook's parameters, or "
        f"delete {tmp_path}), or use another GAN_OUTPUT_DIR.")


def test_recording_an_epoch_again_replaces_it_and_every_later_one(tmp_path):
    """A run resumed from an earlier checkpoint than its history reached writes its epochs over the old ones."""
    checkpoint = callbacks.GANCheckpoint(tiny_gan(), tmp_path)
    for epoch in (1, 2, 3):
        checkpoint.record_epoch(epoch, {"g_loss": float(epoch)})
    checkpoint.record_epoch(2, {"g_loss": 20.0})
    assert checkpoint.history == {"g_loss": [1.0, 20.0]}


class GeneratorWeightsRecorder(keras.callbacks.Callback):
    """Keeps the generator's weights after each callback (each step, or each steps_per_execution steps)."""

    def __init__(self):
        super().__init__()
        self.snapshots = []

    def on_train_begin(self, logs=None):
        self.snapshots.append(training.snapshot_weights(self.model.generator))

    def on_train_batch_end(self, batch, logs=None):
        self.snapshots.append(training.snapshot_weights(self.model.generator))


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
    gan = tiny_gan()
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), steps_per_execution=steps_per_execution)
    recorder, ema = GeneratorWeightsRecorder(), callbacks.GeneratorEMA(decay=0.9)
    gan.fit(tiny_dataset(batches=6), epochs=1, verbose=0, callbacks=[recorder, ema])

    assert int(ema.step.numpy()) == 6 == int(gan.generator_optimizer.iterations.numpy())
    assert len(recorder.snapshots) == 1 + 6 // steps_per_execution
    expected = expected_average(recorder.snapshots, steps_per_execution, decay=0.9)
    for average, want in zip(ema.ema_generator.weights, expected):
        np.testing.assert_allclose(np.array(average), want, rtol=1e-5, atol=1e-6)


def test_generator_ema_takes_a_decay_from_0_up_to_but_not_1_and_defaults_to_notebook_02s():
    assert callbacks.GeneratorEMA().decay == 0.999
    assert callbacks.GeneratorEMA(decay=0.0).decay == 0.0  # the average is the generator itself
    for decay in (1.0, 1.5, -0.1):
        with pytest.raises(ValueError) as refused:
            callbacks.GeneratorEMA(decay=decay)
        assert str(refused.value) == f"decay must be in [0, 1), e.g. 0.999, got {decay}."


def test_a_new_average_starts_from_the_weights_training_starts_from():
    """GANCheckpoint(ema=...) builds the average before a restore may change the generator's weights."""
    gan, average = tiny_gan(), callbacks.GeneratorEMA(decay=0.9)
    average.build(gan.generator)
    gan.generator.set_weights([weight + 1.0 for weight in gan.generator.get_weights()])
    average.set_model(gan)
    average.on_train_begin()
    for averaged, weight in zip(average.ema_generator.weights, gan.generator.weights):
        np.testing.assert_array_equal(np.array(averaged), np.array(weight))


def test_checkpoint_saves_and_restores_the_generator_average(tmp_path):
    gan, ema = tiny_gan(), callbacks.GeneratorEMA(decay=0.9)
    checkpoint = callbacks.GANCheckpoint(gan, tmp_path, ema=ema)
    gan.fit(tiny_dataset(batches=3), epochs=1, verbose=0, callbacks=[ema])
    checkpoint.save(1)
    saved_average = training.snapshot_weights(ema.ema_generator)
    assert training.count_changed_weights(gan.generator, saved_average) > 0  # the average is not the generator

    resumed, resumed_ema = tiny_gan(), callbacks.GeneratorEMA(decay=0.9)
    assert callbacks.GANCheckpoint(resumed, tmp_path, ema=resumed_ema).restore_latest() == 1
    assert int(resumed_ema.step.numpy()) == 3
    assert training.count_changed_weights(resumed_ema.ema_generator, saved_average) == 0
    # Training on continues the average (step 4's decay) instead of restarting it from the generator.
    recorder = GeneratorWeightsRecorder()
    resumed.fit(tiny_dataset(batches=1), epochs=1, verbose=0, callbacks=[recorder, resumed_ema])
    keep = min(0.9, (1 + 3) / (10 + 3))
    for average, old, new in zip(resumed_ema.ema_generator.weights, saved_average, recorder.snapshots[-1]):
        np.testing.assert_allclose(np.array(average), keep * old + (1 - keep) * new, rtol=1e-5, atol=1e-6)


def test_the_callbacks_of_notebook_02_work_under_a_gpus_settings(tmp_path):
    """XLA and 32 steps per execution, run on the CPU with all of notebook 02's callbacks.

    40 batches an epoch are one execution of 32 steps and one of 8: every step trains, each epoch draws its
    frame, and the checkpoint of the last epoch restores the same generator and its average.
    """
    gan = tiny_gan()
    gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5),
                jit_compile=True, steps_per_execution=32)
    average = callbacks.GeneratorEMA(decay=0.9)
    checkpoint = callbacks.GANCheckpoint(gan, tmp_path / "checkpoints", ema=average)
    grids = callbacks.SampleGridCallback(np.zeros((4, LATENT_DIM), "float32"), tmp_path / "frames", show=False)
    history = gan.fit(tiny_dataset(40), epochs=2, verbose=0,
                      callbacks=[callbacks.DivergenceMonitor(), average, grids, callbacks.CheckpointCallback(checkpoint)])

    assert gan.jit_compile is True
    assert int(gan.generator_optimizer.iterations) == int(gan.discriminator_optimizer.iterations) == 80
    assert int(average.step.numpy()) == 80
    assert all(np.isfinite(value) for values in history.history.values() for value in values)
    assert sorted(path.name for path in (tmp_path / "frames").iterdir()) == ["epoch_0001.png", "epoch_0002.png"]
    noise = np.random.default_rng(0).normal(size=(4, LATENT_DIM)).astype("float32")
    restored, restored_average = tiny_gan(seed=5), callbacks.GeneratorEMA(decay=0.9)
    assert callbacks.GANCheckpoint(restored, tmp_path / "checkpoints", ema=restored_average).restore_latest() == 2
    np.testing.assert_array_equal(restored.generator(noise), gan.generator(noise))
    np.testing.assert_array_equal(restored_average.ema_generator(noise), average.ema_generator(noise))
    assert not np.array_equal(average.ema_generator(noise), gan.generator(noise))


def test_start_without_resume_keeps_only_max_to_keep_checkpoints_afterwards(tmp_path):
    gan = tiny_gan()
    callbacks.GANCheckpoint(gan, tmp_path).save(1)  # an old run, to be deleted
    checkpoint = callbacks.GANCheckpoint(gan, tmp_path, max_to_keep=2)
    assert checkpoint.start(epochs=3, resume=False) == 0
    for epoch in (1, 2, 3):
        checkpoint.save(epoch)
    assert [path.rsplit("-", 1)[1] for path in checkpoint.manager.checkpoints] == ["2", "3"]
    assert sorted(path.name for path in tmp_path.glob("ckpt-*.index")) == ["ckpt-2.index", "ckpt-3.index"]


def read_png(path):
    from PIL import Image

    return np.asarray(Image.open(path))


def grid_gan():
    """A GAN whose generator has batch normalisation with moving statistics unlike any batch's: inference and
    training mode draw different images."""
    gan = tiny_gan()
    generator = keras.Sequential([keras.Input((LATENT_DIM,)), layers.Dense(28 * 28), layers.BatchNormalization(),
                                  layers.Activation("tanh"), layers.Reshape((28, 28, 1))])
    normalisation = generator.layers[1]
    normalisation.moving_mean.assign(np.full(28 * 28, 0.5, "float32"))
    normalisation.moving_variance.assign(np.full(28 * 28, 4.0, "float32"))
    gan.generator = generator
    return gan


def test_a_frame_is_the_generators_inference_mode_images_in_the_asked_number_of_columns(tmp_path):
    gan = grid_gan()
    noise = np.random.default_rng(0).normal(size=(6, LATENT_DIM)).astype("float32")
    inference = viz.image_grid(gan.generator(noise, training=False), n_cols=2)
    grids = callbacks.SampleGridCallback(noise, tmp_path, show=False, n_cols=2)
    grids.set_model(gan)
    frame = read_png(grids.save_frame(1))
    assert frame.shape[:2] == (3 * 28, 2 * 28)  # 6 images in 2 columns, not the default 3
    np.testing.assert_array_equal(frame.reshape(inference.shape), inference)
    training_mode = viz.image_grid(gan.generator(noise, training=True), n_cols=2)  # (this call moves the statistics)
    assert not np.array_equal(inference, training_mode)  # so a frame drawn in training mode would differ


def test_each_new_frame_is_shown_by_default_and_not_with_show_false(tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(callbacks.SampleGridCallback, "_show", lambda self, path: shown.append(path))
    gan = tiny_gan()
    noise = np.zeros((4, LATENT_DIM), "float32")
    gan.fit(tiny_dataset(1), epochs=2, verbose=0, callbacks=[callbacks.SampleGridCallback(noise, tmp_path / "shown")])
    assert [path.name for path in shown] == ["epoch_0001.png", "epoch_0002.png"]
    gan.fit(tiny_dataset(1), epochs=1, verbose=0, callbacks=[callbacks.SampleGridCallback(noise, tmp_path / "quiet", show=False)])
    assert len(shown) == 2


def test_a_resumed_run_redraws_the_missing_frame_of_the_epoch_it_continues_after(tmp_path):
    """Killed between a checkpoint and its frame: the resumed fit() draws that frame from the restored weights."""
    gan = tiny_gan()
    noise = np.zeros((4, LATENT_DIM), "float32")
    grids = callbacks.SampleGridCallback(noise, tmp_path, show=False)
    gan.fit(tiny_dataset(1), epochs=1, verbose=0, callbacks=[grids])
    assert [path.name for path in grids.saved_frames()] == ["epoch_0001.png"]
    grids.frame_path(1).unlink()  # killed after checkpoint 1, before its frame
    gan.fit(tiny_dataset(1), epochs=2, initial_epoch=1, verbose=0, callbacks=[grids])
    assert [path.name for path in grids.saved_frames()] == ["epoch_0001.png", "epoch_0002.png"]
    gan.fit(tiny_dataset(1), epochs=4, initial_epoch=3, verbose=0, callbacks=[grids])  # frame 3 was never drawn
    assert [path.name for path in grids.saved_frames()] == [f"epoch_000{epoch}.png" for epoch in (1, 2, 3, 4)]
    assert [path.name for path in grids.saved_frames(3)] == ["epoch_0001.png", "epoch_0002.png", "epoch_0003.png"]
