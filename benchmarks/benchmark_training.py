"""Training speed: the articles' loops against gan_utils' ``GAN.fit``, side by side in one process.

Run from the repository root (not part of the test suite):

    python -m benchmarks.benchmark_training                 # batch 256: the article loops against gan_utils
    python -m benchmarks.benchmark_training --settings      # GAN.fit's defaults against XLA, steps_per_execution, precision

Every loop trains the seed-000 DCGAN (gan_utils.models, same initial weights) on the same images
at the same batch size. The article loops compute in float32, as the articles did; the notebooks' defaults
are Keras' own compile options (``jit_compile="auto"``: XLA on a GPU, plain ``tf.function`` on a CPU;
one step per execution) and ``hardware.recommended_precision()`` (mixed_bfloat16 on a CPU with bfloat16
instructions); where that is not float32, gan_utils in float32 is timed too.
Each loop first runs ``--warmup`` steps (tracing, XLA compilation), then ``--repeats`` timed runs of
``--steps`` steps; the loops take turns within each repeat so that a busy machine slows them all alike.
Reported: the median over repeats of ms per step and images per second (real images consumed), and how
many times faster the gan_utils loop is than each other loop.
"""

import argparse
import os
import platform
import statistics
import time
from datetime import datetime, timezone

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks import article_loops  # noqa: E402
from gan_utils import data, hardware, models, training  # noqa: E402

GAN_UTILS = "gan_utils GAN.fit (defaults)"
GAN_UTILS_FLOAT32 = "gan_utils GAN.fit (defaults, but float32)"


def default_settings():
    """The notebooks' settings on this machine: (compile options: Keras' defaults, Keras dtype policy)."""
    return {}, hardware.recommended_precision()


def build_models(seed=0):
    """The seed-000 DCGAN, with the same initial weights on every call."""
    keras.utils.set_random_seed(seed)
    return models.build_dcgan_generator(), models.build_dcgan_discriminator()


class FitLoop:
    """``GAN`` steps exactly as ``fit()`` runs them: its compiled ``train_function`` on one dataset iterator.

    ``fit()`` does the same per step (with ``verbose=0`` and no batch callbacks nothing else runs), but each
    new ``fit()`` call re-traces the function for its new iterator (about 1 s here), which would be
    counted in every timed repeat; a notebook pays it once. ``compile_options`` go to ``compile()``;
    ``precision`` is the Keras dtype policy the models are built with (bfloat16 needs no loss scaling).
    """

    def __init__(self, images, batch_size, compile_options, precision="float32"):
        keras.mixed_precision.set_global_policy(precision)
        try:
            generator, discriminator = build_models()
        finally:
            keras.mixed_precision.set_global_policy("float32")
        self.gan = training.GAN(generator, discriminator)
        self.gan.compile(keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4), **compile_options)
        self.steps_per_execution = self.gan.steps_per_execution
        self.gan.make_train_function()
        self.iterator = iter(data.make_dataset(images, batch_size, shuffle=False).repeat())

    def __call__(self, steps):
        for _ in range(-(-steps // self.steps_per_execution)):  # steps rounded up to whole executions
            logs = self.gan.train_function(self.iterator)
        float(logs["d_loss"])  # wait for the last step to finish


class StepLoop:
    """A Python loop calling an article's ``train_step`` on each batch."""

    def __init__(self, train_step, batches):
        self.train_step = train_step
        self.batches = batches  # a repeating iterator over real-image batches

    def __call__(self, steps):
        for _ in range(steps):
            self.train_step(next(self.batches))


def numpy_batches(images, batch_size):
    """Article 004's batches: numpy slices ``X_train[index * B:(index + 1) * B]``, round and round."""
    count = len(images) // batch_size
    index = 0
    while True:
        yield images[index * batch_size:(index + 1) * batch_size]
        index = (index + 1) % count


def make_loops(images, batch_size, settings):
    """The article loops and gan_utils' defaults; with ``settings``, gan_utils' defaults and each other setting."""
    default_options, default_precision = default_settings()
    if settings:
        plain = {"jit_compile": False, "steps_per_execution": 1}
        loops = {GAN_UTILS: FitLoop(images, batch_size, default_options, default_precision)}
        for name, options, precision in [
            ("GAN.fit plain tf.function, float32", plain, "float32"),
            ("GAN.fit plain tf.function, mixed_bfloat16", plain, "mixed_bfloat16"),
            ("GAN.fit jit_compile=True (XLA)", {"jit_compile": True, "steps_per_execution": 1}, default_precision),
            ("GAN.fit steps_per_execution=4", {"jit_compile": False, "steps_per_execution": 4}, default_precision),
            ("GAN.fit XLA + steps_per_execution=4", {"jit_compile": True, "steps_per_execution": 4}, default_precision),
        ]:
            if (options, precision) != (default_options, default_precision):
                loops[f"{name} ({precision})" if precision not in name else name] = FitLoop(images, batch_size, options, precision)
        return loops

    dataset = data.make_dataset(images, batch_size, shuffle=False).repeat()
    loops = {}

    generator, discriminator = build_models()
    step = article_loops.make_article_000_step(generator, discriminator, keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4))
    loops["article 000: eager GradientTape"] = StepLoop(step, iter(dataset))

    generator, discriminator = build_models()
    step = article_loops.make_article_003_step(generator, discriminator, batch_size)
    loops["article 003: train_on_batch, frozen D"] = StepLoop(step, iter(dataset))

    generator, discriminator = build_models()
    step = article_loops.make_article_004_step(generator, discriminator, batch_size)
    loops["article 004: predict + concatenate + train_on_batch"] = StepLoop(step, numpy_batches(images, batch_size))

    if default_precision != "float32":
        loops[GAN_UTILS_FLOAT32] = FitLoop(images, batch_size, default_options, "float32")
    loops[GAN_UTILS] = FitLoop(images, batch_size, default_options, default_precision)
    return loops


def device_name():
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU: {details.get('device_name', gpus[0].name)} (x{len(gpus)})"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"CPU: {cpu}, {os.cpu_count()} cores"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=256, help="images per step (default: article 000's 256)")
    parser.add_argument("--steps", type=int, default=8, help="steps per timed repeat (a multiple of 4 with --settings)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats; the median is reported")
    parser.add_argument("--warmup", type=int, default=4, help="untimed steps first (tracing, compilation)")
    parser.add_argument("--data", choices=["sample", "keras"], default="sample",
                        help="sample: the 1,000 digits shipped with gan_utils (default, offline); keras: MNIST")
    parser.add_argument("--settings", action="store_true",
                        help="instead of the article loops, time GAN.fit with each compile setting against its defaults")
    args = parser.parse_args()
    if args.settings and args.steps % 4:
        parser.error("--settings needs --steps to be a multiple of 4 (steps_per_execution=4)")

    images, _ = data.load_mnist(args.data)
    print(f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"device: {device_name()}")
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, batch size {args.batch_size}, "
          f"{args.repeats} repeats x {args.steps} steps after {args.warmup} warm-up steps, data: {args.data}")
    default_options, default_precision = default_settings()
    print(f"gan_utils defaults here: {default_options}, precision {default_precision}")

    loops = make_loops(images, args.batch_size, args.settings)
    for loop in loops.values():
        loop(args.warmup)
    seconds = {name: [] for name in loops}
    for repeat in range(args.repeats):
        for name, loop in loops.items():
            start = time.perf_counter()
            loop(args.steps)
            seconds[name].append((time.perf_counter() - start) / args.steps)
        print(f"  repeat {repeat + 1}/{args.repeats}: " + ", ".join(f"{s[-1] * 1000:.0f}" for s in seconds.values()) + " ms/step")

    median = {name: statistics.median(values) for name, values in seconds.items()}
    print(f"\n{'loop':55s} {'ms/step':>8s} {'images/s':>9s} {'gan_utils is':>13s}")
    for name in loops:
        speedup = median[name] / median[GAN_UTILS]
        print(f"{name:55s} {median[name] * 1000:8.0f} {args.batch_size / median[name]:9.0f} {speedup:12.2f}x")
    print("(median over repeats; 'gan_utils is Nx' = that loop's ms/step / gan_utils' ms/step)")
    paired = {name: statistics.median(a / b for a, b in zip(seconds[name], seconds[GAN_UTILS])) for name in loops}
    print("median of per-repeat ratios: " + ", ".join(f"{name.split(':')[0]} {ratio:.2f}x" for name, ratio in paired.items() if name != GAN_UTILS))

    # Cross-check: the same defaults through one plain fit() call, start-up (tracing) included.
    gan = FitLoop(images, args.batch_size, default_options, default_precision).gan
    dataset = data.make_dataset(images, args.batch_size, shuffle=False).repeat()
    start = time.perf_counter()
    gan.fit(dataset, epochs=1, steps_per_epoch=args.steps * 2, verbose=0)
    seconds_per_step = (time.perf_counter() - start) / (args.steps * 2)
    print(f"cross-check: one gan.fit() of {args.steps * 2} steps with the defaults, tracing included: "
          f"{seconds_per_step * 1000:.0f} ms/step")


if __name__ == "__main__":
    main()
