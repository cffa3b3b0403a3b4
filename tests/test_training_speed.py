"""The fast loop (GAN.fit, compiled into one graph per step) computes what article 000's eager loop computes.

benchmarks/benchmark_training.py measures how much faster it is (docs/speed.md); these tests check that it is
the same training: same weights, noise and batch give the same losses, in float32 to 1e-5 and in bfloat16 to
1e-3 of the eager loop in bfloat16.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from benchmarks import article_loops
from gan_utils import data, training

BATCH = 16


@pytest.fixture
def noise(monkeypatch):
    """The GAN's tf.random.normal gives this batch of noise, which the eager loop is given too."""
    table = tf.constant(np.random.default_rng(0).normal(size=(BATCH, 100)).astype("float32"))
    monkeypatch.setattr(tf.random, "normal", lambda shape, *args, **kwargs: table)
    return table


def build_models(dropout=True, policy="float32"):
    """A small DCGAN of article 000's kind (transposed convolutions, BatchNorm, LeakyReLU, dropout, a float32 last
    layer), so that compiling it, with XLA too, takes seconds: the test is about the loop, not the network's size."""
    keras.mixed_precision.set_global_policy(policy)
    try:
        keras.utils.set_random_seed(0)  # same weights and the same Dropout seeds on every call
        generator = keras.Sequential([
            keras.Input((100,)), layers.Dense(7 * 7 * 16, use_bias=False), layers.BatchNormalization(), layers.LeakyReLU(),
            layers.Reshape((7, 7, 16)), layers.Conv2DTranspose(8, 5, strides=2, padding="same", use_bias=False),
            layers.BatchNormalization(), layers.LeakyReLU(),
            layers.Conv2DTranspose(1, 5, strides=2, padding="same", activation="tanh", dtype="float32")])
        discriminator = keras.Sequential([
            keras.Input((28, 28, 1)), layers.Conv2D(8, 5, strides=2, padding="same"), layers.LeakyReLU(), layers.Dropout(0.3),
            layers.Flatten(), layers.Dense(1, dtype="float32")])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    if not dropout:
        for layer in discriminator.layers:
            if isinstance(layer, keras.layers.Dropout):
                layer.rate = 0.0
    return generator, discriminator


def eager_losses(real_batch, noise, dropout=True, policy="float32"):
    generator, discriminator = build_models(dropout, policy)
    step = article_loops.make_article_000_step(generator, discriminator, keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4))
    return [[float(loss) for loss in step(real_batch, noise)] for _ in range(2)]  # [g_loss, d_loss] per step


def fit_losses(images, dropout=True, policy="float32", **compile_options):
    gan = training.GAN(*build_models(dropout, policy))
    gan.compile(keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4), **compile_options)
    history = gan.fit(data.make_dataset(images[:BATCH], BATCH, shuffle=False), epochs=2, verbose=0).history  # 1 step/epoch
    assert int(gan.generator_optimizer.iterations) == 2
    return [[g, d] for g, d in zip(history["g_loss"], history["d_loss"])]


@pytest.mark.parametrize("jit_compile", [False, True], ids=["tf.function", "xla"])
def test_compiled_loop_gives_the_eager_loops_losses(jit_compile, noise):
    # XLA draws other random numbers from the same seed (its own RNG algorithm), so Dropout masks
    # would differ from the eager loop's: compare XLA with Dropout off on both sides.
    images, _ = data.load_mnist("sample")
    dropout = not jit_compile
    eager = eager_losses(tf.constant(images[:BATCH]), noise, dropout)
    fast = fit_losses(images, dropout, jit_compile=jit_compile)
    np.testing.assert_allclose(fast, eager, rtol=1e-5, atol=1e-6)
    assert eager[0] != eager[1]  # the second step saw the first step's updates


def test_bfloat16_loop_gives_the_eager_loops_losses_at_bfloat16_precision(noise):
    """On a CPU with bfloat16 instructions the notebooks train in mixed_bfloat16 (hardware.recommended_precision)."""
    images, _ = data.load_mnist("sample")
    fast_bfloat16 = fit_losses(images, policy="mixed_bfloat16")
    eager_bfloat16 = eager_losses(tf.constant(images[:BATCH]), noise, policy="mixed_bfloat16")
    eager_float32 = eager_losses(tf.constant(images[:BATCH]), noise)
    np.testing.assert_allclose(fast_bfloat16, eager_bfloat16, rtol=1e-3)
    np.testing.assert_allclose(fast_bfloat16, eager_float32, rtol=5e-2)  # bfloat16 keeps 8 bits of mantissa
    assert not np.allclose(fast_bfloat16, eager_float32, rtol=1e-5)  # it really computed in bfloat16
