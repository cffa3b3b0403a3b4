"""GAN under tf.distribute.MirroredStrategy on two logical CPUs (issue: training speed and scale).

The training runs in a subprocess (tests/distributed_two_cpus.py): logical devices must be set up
before TensorFlow initialises, and this process has already initialised it.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("distributed_two_cpus.py")
REPOSITORY = SCRIPT.parent.parent


@pytest.fixture(scope="module")
def results():
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPOSITORY), os.environ.get("PYTHONPATH", "")]))
    completed = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, env=environment, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_two_replicas_train_two_steps_and_stay_in_sync(results):
    assert results["replicas"] == 2 and results["steps"] == 2
    assert results["smallest_weight_change"] > 0  # every weight moved
    assert results["replica_weight_difference"] == 0.0  # both replicas applied the same update


def test_reported_losses_equal_one_device_on_the_same_global_batch(results):
    distributed, one_device = results["distributed_logs"], results["one_device_logs"]
    for name in ("d_loss", "g_loss", "real_score", "fake_score"):
        assert math.isfinite(distributed[name])
        assert distributed[name] == pytest.approx(one_device[name], rel=1e-5), name
    assert results["distributed_vs_one_device_weight_difference"] < 1e-5


def test_each_replica_draws_its_own_noise(results):
    assert results["replica_noise_difference"] > 0.1
    assert all(math.isfinite(value) for value in results["plain_logs"].values())
