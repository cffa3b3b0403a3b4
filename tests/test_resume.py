"""Kill a real training process mid-epoch, and in the middle of saving a checkpoint; the same command resumes.

Runs tests/resumable_training.py (tiny networks, 4 steps per epoch, a checkpoint every epoch) in subprocesses.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import imageio.v3 as iio
import numpy as np
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
    process = subprocess.Popen(COMMAND + [str(output_dir), str(EPOCHS)], cwd=ROOT, env=environment(),
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    printed = []
    try:
        for line in process.stdout:
            printed.append(line.strip())
            if line.strip() == kill_after_line:
                process.send_signal(signal.SIGKILL)
                break
    finally:
        process.wait(timeout=120)
    assert process.returncode == -signal.SIGKILL, f"not killed (exit {process.returncode}): {printed[-3:]}"
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

    # The checkpoint holds the epoch counter and both optimizers' state.
    gan = resumable_training.build_gan()
    assert callbacks.GANCheckpoint(gan, tmp_path / "checkpoints").restore_latest() == EPOCHS
    assert int(gan.generator_optimizer.iterations) == int(gan.discriminator_optimizer.iterations) == EPOCHS * steps
