"""Kill a real training process mid-epoch, and in the middle of saving a checkpoint; the same command resumes.

Runs tests/resumable_training.py (tiny networks, 4 steps per epoch, a checkpoint every epoch) in subprocesses.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf

from gan_utils import callbacks
from tests import resumable_training

ROOT = Path(__file__).parents[1]
EPOCHS = 6
COMMAND = [sys.executable, "-m", "tests.resumable_training"]

# Run 2 dies (SIGKILL) inside TensorFlow's checkpoint save of epoch 4: after the data files are written,
# before the "checkpoint" file that names the latest checkpoint is rewritten.
KILLED_WHILE_SAVING = textwrap.dedent("""
    import os, signal, sys
    from tensorflow.python.checkpoint import checkpoint_management
    from tests import resumable_training

    def die_before_recording(save_dir, model_checkpoint_path, *args, **kwargs):
        if model_checkpoint_path.endswith("ckpt-4"):
            os.kill(os.getpid(), signal.SIGKILL)
        return record(save_dir, model_checkpoint_path, *args, **kwargs)

    record = checkpoint_management.update_checkpoint_state_internal
    checkpoint_management.update_checkpoint_state_internal = die_before_recording
    resumable_training.main(sys.argv[1], int(sys.argv[2]))
""")


def environment():
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), TF_CPP_MIN_LOG_LEVEL="3")


def run_until_killed(output_dir, kill_after_line):
    """Start the command and SIGKILL it as soon as it prints ``kill_after_line``; returns what it printed."""
    errors = output_dir / "killed-run-stderr.txt"
    with open(errors, "w") as error_file:
        process = subprocess.Popen(COMMAND + [str(output_dir), str(EPOCHS)], cwd=ROOT, env=environment(),
                                   stdout=subprocess.PIPE, stderr=error_file, text=True)
        watchdog = threading.Timer(120, process.kill)  # a hung run must not hang the suite
        watchdog.start()
        printed = []
        try:
            for line in process.stdout:
                printed.append(line.strip())
                if line.strip() == kill_after_line:
                    process.send_signal(signal.SIGKILL)
                    break
        finally:
            process.wait(timeout=120)
            watchdog.cancel()
    assert process.returncode == -signal.SIGKILL, f"not killed (exit {process.returncode}): {printed[-3:]} {errors.read_text()[-2000:]}"
    return printed


def run(arguments, output_dir):
    result = subprocess.run(arguments + [str(output_dir), str(EPOCHS)], cwd=ROOT, env=environment(),
                            capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout.splitlines(), result.stderr


def saved_state(output_dir):
    checkpoints = output_dir / "checkpoints"
    latest = tf.train.latest_checkpoint(str(checkpoints))
    history = json.loads((checkpoints / "history.json").read_text())
    return int(latest.rsplit("-", 1)[1]), history


def test_killed_training_resumes_from_the_last_checkpoint_with_history_and_frames(tmp_path):
    steps = resumable_training.STEPS_PER_EPOCH

    # Run 1: killed in the middle of epoch 3, after two saved epochs.
    printed = run_until_killed(tmp_path, kill_after_line="epoch 3 step 2")
    assert printed[0] == "continuing after epoch 0, optimizer step 0"
    assert "done" not in printed
    killed_at_epoch, history_at_kill = saved_state(tmp_path)
    assert killed_at_epoch >= 2  # the kill may land a moment later, e.g. after epoch 3's save

    # Run 2: resumes, then is killed while TensorFlow saves the checkpoint of epoch 4.
    code, printed, errors = run([sys.executable, "-c", KILLED_WHILE_SAVING], tmp_path)
    assert code == -signal.SIGKILL, errors[-2000:]
    assert printed[0] == f"continuing after epoch {killed_at_epoch}, optimizer step {killed_at_epoch * steps}"
    assert f"epoch 4 step {steps}" in printed and "epoch 5 step 1" not in printed
    assert (tmp_path / "checkpoints" / "ckpt-4.index").exists()  # written, but not yet recorded as the latest
    assert saved_state(tmp_path)[0] == 3

    # Run 3: the same command again finishes the job, continuing after epoch 3.
    code, printed, errors = run(COMMAND, tmp_path)
    assert code == 0, errors[-2000:]
    assert printed[0] == f"continuing after epoch 3, optimizer step {3 * steps}"
    assert printed[1] == "epoch 4 step 1" and printed[-1] == "done"

    final_epoch, history = saved_state(tmp_path)
    assert final_epoch == EPOCHS
    assert set(history) == {"d_loss", "g_loss", "real_score", "fake_score"}
    for name, values in history.items():
        assert len(values) == EPOCHS
        assert values[:killed_at_epoch] == history_at_kill[name][:killed_at_epoch]  # continued, not restarted
    frames = sorted(path.name for path in (tmp_path / "frames").iterdir() if not path.name.startswith("."))
    assert frames == [f"epoch_{epoch:04d}.png" for epoch in range(1, EPOCHS + 1)]
    gif = iio.imread(tmp_path / "training.gif", index=None)
    assert len(gif) == EPOCHS
    last_frame = iio.imread(tmp_path / "frames" / f"epoch_{EPOCHS:04d}.png")
    np.testing.assert_array_equal(gif[-1][..., 0], last_frame if last_frame.ndim == 2 else last_frame[..., 0])

    # The checkpoint holds the epoch counter, both optimizers' state and both networks, trained.
    gan = resumable_training.build_gan()
    untrained = [np.array(weight) for weight in gan.generator.weights + gan.discriminator.weights]
    assert callbacks.GANCheckpoint(gan, tmp_path / "checkpoints").restore_latest() == EPOCHS
    assert int(gan.generator_optimizer.iterations) == int(gan.discriminator_optimizer.iterations) == EPOCHS * steps
    restored = [np.array(weight) for weight in gan.generator.weights + gan.discriminator.weights]
    assert all(not np.array_equal(before, after) for before, after in zip(untrained, restored))


def test_a_write_that_dies_half_way_leaves_the_previous_file(tmp_path):
    path = tmp_path / "history.json"
    callbacks.replace_atomically(path, lambda temporary: temporary.write_text('{"g_loss": [1.0]}'))

    def dies_half_way(temporary):
        temporary.write_text('{"g_loss": [1.0, 2')
        raise KeyboardInterrupt  # stands for the process being killed here

    with pytest.raises(KeyboardInterrupt):
        callbacks.replace_atomically(path, dies_half_way)
    assert json.loads(path.read_text()) == {"g_loss": [1.0]}
    callbacks.replace_atomically(path, lambda temporary: temporary.write_text('{"g_loss": [1.0, 2.0]}'))
    assert json.loads(path.read_text()) == {"g_loss": [1.0, 2.0]} and sorted(tmp_path.iterdir()) == [path]


def test_restore_trims_a_history_saved_ahead_of_its_checkpoint(tmp_path):
    checkpoint = callbacks.GANCheckpoint(resumable_training.build_gan(), tmp_path)
    for epoch in (1, 2, 3):
        checkpoint.record_epoch(epoch, {"g_loss": epoch, "d_loss": -epoch})
    checkpoint.save(2)  # history of 2 epochs, checkpoint 2
    callbacks.replace_atomically(checkpoint.history_path, lambda temporary: temporary.write_text(
        json.dumps({"g_loss": [1, 2, 3], "d_loss": [-1, -2, -3]})))  # killed after the history of epoch 3 was written
    restored = callbacks.GANCheckpoint(resumable_training.build_gan(), tmp_path)
    assert restored.restore_latest() == 2
    assert restored.history == {"g_loss": [1, 2], "d_loss": [-1, -2]}
    restored.record_epoch(2, {"g_loss": 20.0, "d_loss": -20.0})  # an epoch run again replaces its old logs
    assert restored.history == {"g_loss": [1, 20.0], "d_loss": [-1, -20.0]}


def test_a_resumed_run_draws_the_missing_frame_of_its_checkpoint_and_lists_each_epoch_once(tmp_path):
    gan = resumable_training.build_gan()
    dataset = resumable_training.data.make_dataset(resumable_training.data.load_mnist("sample")[0][:32], 16)
    frames = callbacks.SampleGridCallback(np.ones((4, resumable_training.LATENT_DIM), "float32"), tmp_path, show=False)
    gan.fit(dataset, epochs=2, verbose=0, callbacks=[frames])
    expected = iio.imread(frames.frame_path(2))
    frames.frame_path(2).unlink()  # killed after checkpoint 2, before its frame
    gan.fit(dataset, epochs=3, initial_epoch=2, verbose=0, callbacks=[frames])
    assert frames.saved_frames() == [frames.frame_path(epoch) for epoch in (1, 2, 3)]
    assert frames.saved_frames(2) == [frames.frame_path(1), frames.frame_path(2)]
    np.testing.assert_array_equal(iio.imread(frames.frame_path(2)), expected)
