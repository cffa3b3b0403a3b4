"""The fast loop (GAN.fit, compiled) against article 000's eager loop, and the device-dependent settings."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from benchmarks import article_loops
from gan_utils import data, hardware, models, training

BATCH = 16


class FixedNoiseGAN(training.GAN):
    """A GAN whose every step uses the same given noise, so that another loop can be given it too."""

    def __init__(self, *args, noise, **kwargs):
        super().__init__(*args, **kwargs)
        self.fixed_noise = noise

    def sample_noise(self, batch_size):
        return self.fixed_noise


def build_models(dropout=True):
    keras.utils.set_random_seed(0)  # same weights and the same Dropout seeds on every call
    generator, discriminator = models.build_dcgan_generator(), models.build_dcgan_discriminator()
    if not dropout:
        for layer in discriminator.layers:
            if isinstance(layer, keras.layers.Dropout):
                layer.rate = 0.0
    return generator, discriminator


@pytest.mark.parametrize("compile_options", [hardware.recommended_compile_options(has_gpu=False),
                                             hardware.recommended_compile_options(has_gpu=True)],
                         ids=["cpu-defaults", "gpu-defaults-xla"])
def test_compiled_loop_gives_the_eager_loops_losses(compile_options):
    # XLA draws other random numbers from the same seed (its own RNG algorithm), so Dropout masks
    # would differ from the eager loop's: compare XLA with Dropout off on both sides.
    dropout = not compile_options["jit_compile"]
    images, _ = data.load_mnist_sample()
    real_batch = tf.constant(images[:BATCH])
    noise = tf.constant(np.random.default_rng(0).normal(size=(BATCH, 100)).astype("float32"))

    generator, discriminator = build_models(dropout)
    eager_step = article_loops.make_article_000_step(generator, discriminator, keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4))
    eager_losses = [[float(loss) for loss in eager_step(real_batch, noise)] for _ in range(2)]  # [g_loss, d_loss] per step

    gan = FixedNoiseGAN(*build_models(dropout), noise=noise, seed=0)
    gan.compile(keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4), **compile_options)
    one_batch = data.make_dataset(images[:BATCH], BATCH, shuffle=False)
    # A finite dataset: with steps_per_execution=32, Keras runs its one batch and stops. (With
    # .repeat() and steps_per_epoch=1 it would run 32 steps per epoch.)
    history = gan.fit(one_batch, epochs=2, verbose=0).history  # one step per epoch

    fast_losses = [[g, d] for g, d in zip(history["g_loss"], history["d_loss"])]
    assert gan.generator_optimizer.iterations.numpy() == 2
    np.testing.assert_allclose(fast_losses, eager_losses, rtol=1e-5, atol=1e-6)
    assert eager_losses[0] != eager_losses[1]  # the second step saw the first step's updates


def test_bfloat16_loop_gives_the_eager_loops_losses_at_bfloat16_precision():
    """On a CPU with bfloat16 instructions, GAN.fit's defaults include mixed_bfloat16 (hardware.recommended_precision).

    Same weights, noise and batch: the compiled loop gives the eager loop's losses when both compute in bfloat16
    (to 1e-3: the two graphs round in different places), and stays within bfloat16's precision of float32's.
    """
    images, _ = data.load_mnist_sample()
    real_batch = tf.constant(images[:BATCH])
    noise = tf.constant(np.random.default_rng(0).normal(size=(BATCH, 100)).astype("float32"))

    def losses_of(loop, policy):
        keras.mixed_precision.set_global_policy(policy)
        try:
            generator, discriminator = build_models()
        finally:
            keras.mixed_precision.set_global_policy("float32")
        if loop == "eager":
            step = article_loops.make_article_000_step(generator, discriminator, keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4))
            return [[float(loss) for loss in step(real_batch, noise)] for _ in range(2)]  # [g_loss, d_loss] per step
        assert generator.layers[0].compute_dtype == "bfloat16"  # the Dense layer
        gan = FixedNoiseGAN(generator, discriminator, noise=noise, seed=0)
        gan.compile(keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4), **hardware.recommended_compile_options(has_gpu=False))
        history = gan.fit(data.make_dataset(images[:BATCH], BATCH, shuffle=False), epochs=2, verbose=0).history
        return [[g, d] for g, d in zip(history["g_loss"], history["d_loss"])]

    fast_bfloat16 = losses_of("fit", "mixed_bfloat16")
    eager_bfloat16 = losses_of("eager", "mixed_bfloat16")
    eager_float32 = losses_of("eager", "float32")
    np.testing.assert_allclose(fast_bfloat16, eager_bfloat16, rtol=1e-3)
    np.testing.assert_allclose(fast_bfloat16, eager_float32, rtol=3e-2)  # bfloat16 keeps 8 bits of mantissa
    assert not np.allclose(fast_bfloat16, eager_float32, rtol=1e-5)  # it really computed in bfloat16


def test_sample_noise_on_one_device_is_the_seeded_keras_stream():
    gan = training.GAN(*build_models(), seed=7)
    expected_stream = keras.random.SeedGenerator(7)
    for _ in range(2):
        np.testing.assert_array_equal(gan.sample_noise(4), keras.random.normal((4, 100), seed=expected_stream))


def test_recommended_compile_options_follow_the_device():
    on_cpu = hardware.recommended_compile_options(has_gpu=False)
    on_gpu = hardware.recommended_compile_options(has_gpu=True)
    assert on_cpu == {"jit_compile": False, "steps_per_execution": 1}
    assert on_gpu["jit_compile"] is True and on_gpu["steps_per_execution"] > 1
    assert hardware.recommended_compile_options(has_gpu=True, distributed=True) == on_cpu
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    assert hardware.recommended_compile_options() == (on_gpu if has_gpu else on_cpu)


@pytest.mark.parametrize("with_gpu", [False, True], ids=["cpu", "fake-gpu"])
def test_recommended_jit_compile_is_what_keras_auto_picks(monkeypatch, with_gpu):
    """compile()'s default jit_compile="auto" resolves to XLA when TensorFlow lists a GPU: we only write it out.

    The device list is faked (CPUs only, or with one GPU added), so any machine runs this test; Keras reads only
    that list when it resolves "auto".
    """
    listed = tf.config.list_physical_devices("CPU")
    if with_gpu:
        listed = listed + [tf.config.PhysicalDevice(name="/physical_device:GPU:0", device_type="GPU")]
    monkeypatch.setattr(tf.config, "list_physical_devices",
                        lambda device_type=None: [device for device in listed if device_type in (None, device.device_type)])
    gan = training.GAN(*build_models(), seed=0)
    gan.compile(keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4))  # jit_compile="auto"
    assert gan.jit_compile is hardware.recommended_compile_options()["jit_compile"] is with_gpu


def test_mixed_float16_trains_with_float32_outputs_and_loss_scaling():
    """The GPU's mixed precision path, run (slowly) on the CPU: float16 layers, float32 outputs and losses."""
    try:
        hardware.set_mixed_precision(True)
        generator, discriminator = build_models()
    finally:
        hardware.set_mixed_precision(False)
    gan = training.GAN(generator, discriminator, seed=0)
    gan.compile(keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(1e-4)),
                keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(1e-4)))
    images, _ = data.load_mnist_sample()
    assert generator.layers[1].compute_dtype == "float16"  # the first BatchNorm
    assert generator(gan.sample_noise(2)).dtype == "float32" and discriminator(images[:2]).dtype == "float32"
    before = [np.array(weight) for weight in generator.trainable_variables]
    history = gan.fit(data.make_dataset(images[:8], 8, shuffle=False), epochs=1, verbose=0).history
    assert all(np.isfinite(values[0]) for values in history.values())
    assert generator.trainable_variables[0].dtype == "float32"  # the weights themselves stay float32
    assert all(not np.array_equal(old, np.array(new)) for old, new in zip(before, generator.trainable_variables))
