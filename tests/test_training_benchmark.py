"""benchmarks/benchmark_training.py, run tiny: every loop is timed and compared with gan_utils' defaults."""

import re
import sys

import keras

from benchmarks import benchmark_training
from gan_utils import hardware


def tiny_dcgan(seed=0):
    """Small stand-ins for the seed-000 DCGAN (same input and output shapes): the test checks the benchmark, not TensorFlow."""
    keras.utils.set_random_seed(seed)
    generator = keras.Sequential([keras.Input((100,)), keras.layers.Dense(7 * 7 * 4), keras.layers.Reshape((7, 7, 4)),
                                  keras.layers.Conv2DTranspose(1, 4, strides=4, activation="tanh", dtype="float32")])
    discriminator = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 4, strides=4), keras.layers.Flatten(),
                                      keras.layers.Dense(1, dtype="float32")])
    return generator, discriminator


def test_benchmark_times_every_loop_against_the_defaults(monkeypatch, capsys):
    monkeypatch.setattr(benchmark_training, "build_models", tiny_dcgan)
    monkeypatch.setattr(sys, "argv", ["benchmark_training", "--batch-size", "8", "--steps", "1", "--repeats", "2", "--warmup", "1"])
    benchmark_training.main()
    printed = capsys.readouterr().out

    assert f"TensorFlow {__import__('tensorflow').__version__}, Keras {keras.__version__}, batch size 8" in printed
    assert f"precision {hardware.recommended_precision()}" in printed and "device: " in printed
    expected_loops = ["article 000", "article 003", "article 004", benchmark_training.GAN_UTILS]
    if hardware.recommended_precision() != "float32":  # the defaults' speed-up from precision is shown apart
        expected_loops.append(benchmark_training.GAN_UTILS_FLOAT32)
    for loop in expected_loops:
        row = re.search(re.escape(loop) + r".*?\s(\d+)\s+(\d+)\s+(\d+\.\d\d)x$", printed, re.MULTILINE)
        assert row, f"no timing row for {loop!r} in:\n{printed}"
        milliseconds, images_per_second, ratio = int(row[1]), int(row[2]), float(row[3])
        assert milliseconds > 0 and images_per_second > 0
        if loop == benchmark_training.GAN_UTILS:
            assert ratio == 1.0
    assert keras.mixed_precision.global_policy().name == "float32"  # the benchmark put the policy back
