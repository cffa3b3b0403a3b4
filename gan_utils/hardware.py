"""What hardware TensorFlow sees, and the switches that make a GPU pay.

Taught in notebook 02 (setup section) and notebook 05 (the article's "do we have a GPU?" check).
"""

from dataclasses import dataclass, field
from pathlib import Path

import keras
import tensorflow as tf

# Measured for this series (2-core CPU, TF 2.21): notebook 02's DCGAN, 234 steps of batch 256, ~0.75 s a step.
CPU_SECONDS_PER_MNIST_EPOCH = 175


@dataclass
class HardwareReport:
    """What :func:`check_hardware` found."""

    tensorflow_version: str
    keras_version: str
    built_with_cuda: bool
    gpus: list = field(default_factory=list)

    @property
    def has_gpu(self) -> bool:
        return bool(self.gpus)


def check_hardware(verbose: bool = True) -> HardwareReport:
    """Report TensorFlow/Keras versions and visible GPUs; warn plainly when there is no GPU.

    Returns a :class:`HardwareReport`. With ``verbose``, prints one line per fact, so the
    notebook's output says which machine produced its pictures.
    """
    report = HardwareReport(
        tensorflow_version=tf.__version__,
        keras_version=keras.__version__,
        built_with_cuda=tf.test.is_built_with_cuda(),
        gpus=[gpu.name for gpu in tf.config.list_physical_devices("GPU")],
    )
    if verbose:
        print(f"TensorFlow {report.tensorflow_version}, Keras {report.keras_version}")
        print(f"TensorFlow built with CUDA: {report.built_with_cuda}")
        print(f"GPUs visible: {report.gpus or 'none'}")
        if not report.has_gpu:
            print(no_gpu_warning())
    return report


def no_gpu_warning() -> str:
    """The plain-language warning shown when training will run on the CPU."""
    return (
        "WARNING: no GPU found, so training runs on the CPU. On a 2-core CPU one epoch of "
        f"MNIST with notebook 02's DCGAN takes about {CPU_SECONDS_PER_MNIST_EPOCH} s; "
        "a GPU is typically tens of times faster. In Colab: Runtime > Change runtime type > GPU. "
        "Locally: install the GPU build (see README) and check `nvidia-smi`."
    )


def enable_memory_growth() -> int:
    """Let TensorFlow take GPU memory as it needs it instead of all at once.

    Call before any tensor is placed on a GPU. Returns how many GPUs were set.
    """
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError as error:  # GPUs already initialised: the setting can no longer change
            raise RuntimeError(
                "Memory growth must be set before TensorFlow uses the GPU: "
                "restart the kernel and call enable_memory_growth() first."
            ) from error
    return len(gpus)


def cpu_has_bfloat16(cpuinfo_path="/proc/cpuinfo") -> bool:
    """Whether this x86 CPU does bfloat16 arithmetic in hardware (``avx512_bf16`` or ``amx_bf16`` in its flags).

    Reads the ``flags`` lines of ``/proc/cpuinfo``, so it is Linux only: elsewhere, or if the file cannot be
    read, it returns False. Without these instructions TensorFlow emulates bfloat16, which is not faster.
    """
    try:
        cpuinfo = Path(cpuinfo_path).read_text()
    except OSError:
        return False
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def recommended_precision(has_gpu=None, cpu_bfloat16=None) -> str:
    """The Keras dtype policy that suits the device: ``"mixed_bfloat16"`` or ``"float32"``.

    - CPU with bfloat16 instructions (:func:`cpu_has_bfloat16`): ``"mixed_bfloat16"``. Layers compute in
      bfloat16 and keep float32 weights; BatchNorm, the DCGAN builders' last layer and the losses stay
      float32. Measured on this project's 2-core AMD EPYC (README, "Training speed"): a step of
      notebook 02's DCGAN at batch 256 ran 1.47-1.49x faster than in float32, and after 2,000 steps an FID of
      7.8 / 8.9 (two seeds) against float32's 9.3 / 10.2.
    - Any other CPU: ``"float32"`` (bfloat16 would be emulated there, and was not measured).
    - GPU: ``"float32"`` until mixed precision is measured on one; opt in with :func:`set_mixed_precision`.

    ``has_gpu`` defaults to whether TensorFlow sees a GPU, ``cpu_bfloat16`` to :func:`cpu_has_bfloat16`.
    Apply it with :func:`use_recommended_precision` *before* building the models (notebook 02).
    """
    if has_gpu is None:
        has_gpu = bool(tf.config.list_physical_devices("GPU"))
    if cpu_bfloat16 is None:
        cpu_bfloat16 = cpu_has_bfloat16()
    return "mixed_bfloat16" if cpu_bfloat16 and not has_gpu else "float32"


def use_recommended_precision(**kwargs) -> str:
    """Set Keras' global dtype policy to :func:`recommended_precision` (same arguments); returns its name.

    Only models built afterwards use it. ``keras.mixed_precision.set_global_policy("float32")`` goes back.
    """
    policy = recommended_precision(**kwargs)
    keras.mixed_precision.set_global_policy(policy)
    return policy


def set_mixed_precision(enabled: bool) -> str:
    """Switch Keras' global dtype policy between ``mixed_float16`` and ``float32``.

    Mixed precision speeds up GPUs with tensor cores and slows CPUs down; build the models
    *after* calling this. Keep each model's last layer in float32 (``dtype="float32"``) so
    that logits and losses stay in full precision. Returns the policy name now in force.
    """
    policy = "mixed_float16" if enabled else "float32"
    keras.mixed_precision.set_global_policy(policy)
    return policy


# Measured with `python -m benchmarks.benchmark_training --settings` (README, "Training speed"): on a
# 2-core CPU at batch 256, XLA made notebook 02's DCGAN 1.6x slower and steps_per_execution=4 was
# within run-to-run noise (5% faster in one run, 4% slower in another). On a GPU both remove per-step overhead (GPU figures still to come).
GPU_STEPS_PER_EXECUTION = 32


def recommended_compile_options(has_gpu=None, distributed=None) -> dict:
    """The ``compile()`` settings that suit the device: ``gan.compile(g_opt, d_opt, **recommended_compile_options())``.

    - GPU: ``jit_compile=True`` (XLA fuses the small layers into few GPU kernels; Keras' own default,
      ``jit_compile="auto"``, picks it there too) and ``steps_per_execution=32`` (Python and the
      callbacks run once per 32 steps, so the GPU never waits for them; per-batch callbacks then see
      every 32nd batch). Neither is measured on a GPU yet (README, "Training speed").
    - CPU: ``jit_compile=False, steps_per_execution=1``: plain ``tf.function``, fastest there.
    - Under a ``tf.distribute`` strategy with several replicas: ``jit_compile=False,
      steps_per_execution=1``. With TF 2.21 / Keras 3.15 on two logical CPUs, ``fit()`` failed with
      either one on (a plain ``keras.Sequential`` too), so neither is used there.

    ``has_gpu`` defaults to whether TensorFlow sees a GPU; ``distributed`` to whether this is called
    inside the scope of a strategy with more than one replica. Precision is separate
    (:func:`use_recommended_precision`, before building the models). Taught in the README's
    "Training speed" section; notebooks pass the result to ``GAN.compile``.
    """
    if has_gpu is None:
        has_gpu = bool(tf.config.list_physical_devices("GPU"))
    if distributed is None:
        distributed = tf.distribute.has_strategy() and tf.distribute.get_strategy().num_replicas_in_sync > 1
    if has_gpu and not distributed:
        return {"jit_compile": True, "steps_per_execution": GPU_STEPS_PER_EXECUTION}
    return {"jit_compile": False, "steps_per_execution": 1}
