"""Versions, GPUs, and the precision that suits the machine.

Every notebook calls :func:`check_hardware` in its setup; notebooks 02, 07, 09 and 10 also
:func:`use_recommended_precision`.
"""

import os
import re
from pathlib import Path

import keras
import tensorflow as tf

# The oldest versions the series is tested with: Colab's (README, "Tested versions").
MINIMUM_VERSIONS = {"TensorFlow": "2.20", "Keras": "3.13"}
PRECISION_ENV = "GAN_PRECISION"  # "float32" or "mixed_bfloat16": overrides the precision this machine would get
PRECISIONS = ("float32", "mixed_bfloat16")


def version_tuple(version):
    """"2.21.0rc1" -> (2, 21, 0): a version's leading numbers, to compare as numbers ("2.9" < "2.16")."""
    return tuple(int(number) for number in re.match(r"[0-9.]*", str(version)).group().split(".") if number)


def check_versions(versions):
    """Raise ``RuntimeError`` naming the upgrade if any of ``versions`` ({name: version}) is older than the series needs."""
    too_old = [f"{name} {version} (this series needs {MINIMUM_VERSIONS[name]} or newer)"
               for name, version in versions.items() if version_tuple(version) < version_tuple(MINIMUM_VERSIONS[name])]
    if too_old:
        raise RuntimeError("Too old for these notebooks: " + "; ".join(too_old) + ". Upgrade with "
                           "`pip install -U tensorflow keras` (in Colab: `%pip install -U tensorflow keras`, "
                           "then Runtime > Restart session).")


def check_hardware(verbose=True):
    """Check the TensorFlow and Keras versions (:func:`check_versions`); returns the names of the GPUs TensorFlow sees.

    With ``verbose``, prints the versions and GPUs, and says plainly when training will run on the CPU.
    """
    check_versions({"TensorFlow": tf.__version__, "Keras": keras.__version__})
    gpus = [gpu.name for gpu in tf.config.list_physical_devices("GPU")]
    if verbose:
        print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}; GPUs visible: {gpus or 'none'}")
        if not gpus:
            print("No GPU found, so training runs on the CPU: many times slower than on a GPU. "
                  "In Colab: Runtime > Change runtime type > GPU.")
    return gpus


def cpu_has_bfloat16(cpuinfo_path="/proc/cpuinfo") -> bool:
    """Whether this x86 CPU does bfloat16 arithmetic in hardware (``avx512_bf16`` or ``amx_bf16`` in its flags).

    Linux only: elsewhere, or if the file cannot be read, False. Without these instructions TensorFlow
    emulates bfloat16, which is not faster.
    """
    try:
        lines = Path(cpuinfo_path).read_text().splitlines()
    except OSError:
        return False
    flags = {flag for line in lines if line.startswith("flags") for flag in line.partition(":")[2].split()}
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def recommended_precision(has_gpu=None, cpu_bfloat16=None) -> str:
    """``"mixed_bfloat16"`` on a CPU with bfloat16 instructions (measured faster: docs/speed.md), else ``"float32"``.

    ``has_gpu`` defaults to whether TensorFlow sees a GPU (where float32 stays, as Keras' default),
    ``cpu_bfloat16`` to :func:`cpu_has_bfloat16`.
    """
    has_gpu = bool(tf.config.list_physical_devices("GPU")) if has_gpu is None else has_gpu
    cpu_bfloat16 = cpu_has_bfloat16() if cpu_bfloat16 is None else cpu_bfloat16
    return "mixed_bfloat16" if cpu_bfloat16 and not has_gpu else "float32"


def use_recommended_precision(**kwargs) -> str:
    """Set Keras' global dtype policy to :func:`recommended_precision` (same arguments); returns its name.

    ``$GAN_PRECISION`` (``"float32"`` or ``"mixed_bfloat16"``), when set, wins over the recommendation: the way
    to try the other precision on any machine (TensorFlow emulates bfloat16 on CPUs without it: slower, same
    results up to rounding). Only models built afterwards use it: layers compute in bfloat16 and keep float32
    weights; each DCGAN network's last layer and the losses stay float32, and ``gan_utils.metrics`` always
    measures in float32. ``keras.mixed_precision.set_global_policy("float32")`` goes back.
    """
    policy = os.environ.get(PRECISION_ENV, "").strip()
    if policy and policy not in PRECISIONS:
        raise ValueError(f"{PRECISION_ENV}={policy!r} is not a precision this series uses: "
                         f"set it to one of {', '.join(PRECISIONS)}, or unset it to let the machine choose.")
    policy = policy or recommended_precision(**kwargs)
    keras.mixed_precision.set_global_policy(policy)
    return policy
