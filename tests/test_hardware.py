import keras
import tensorflow as tf

from gan_utils import hardware


def test_report_states_versions_and_devices(capsys):
    report = hardware.check_hardware()
    printed = capsys.readouterr().out
    assert report.tensorflow_version == tf.__version__ and report.keras_version == keras.__version__
    assert f"TensorFlow {tf.__version__}" in printed
    assert report.has_gpu == bool(tf.config.list_physical_devices("GPU"))
    if not report.has_gpu:
        assert "no GPU found" in printed and "Colab" in printed


def test_mixed_precision_switch_sets_and_resets_the_policy():
    try:
        assert hardware.set_mixed_precision(True) == "mixed_float16"
        assert keras.mixed_precision.global_policy().name == "mixed_float16"
    finally:
        assert hardware.set_mixed_precision(False) == "float32"
    assert keras.mixed_precision.global_policy().name == "float32"


def test_memory_growth_counts_gpus():
    assert hardware.enable_memory_growth() == len(tf.config.list_physical_devices("GPU"))


def write_cpuinfo(tmp_path, flags):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("".join(f"processor\t: {n}\nmodel name\t: Test CPU\nflags\t\t: {flags}\n\n" for n in range(2)))
    return cpuinfo


def test_cpu_bfloat16_is_read_from_the_cpu_flags(tmp_path):
    assert hardware.cpu_has_bfloat16(write_cpuinfo(tmp_path, "fpu sse2 avx2 avx512f avx512_bf16 fma"))
    assert hardware.cpu_has_bfloat16(write_cpuinfo(tmp_path, "fpu avx512f amx_tile amx_bf16"))
    # avx512f alone is not enough, and a flag that merely contains the letters does not count
    assert not hardware.cpu_has_bfloat16(write_cpuinfo(tmp_path, "fpu sse2 avx2 avx512f avx512_fp16 not_avx512_bf16x"))
    assert not hardware.cpu_has_bfloat16(tmp_path / "missing")  # no /proc/cpuinfo: not Linux


def test_recommended_precision_is_bfloat16_only_on_a_cpu_that_has_it():
    assert hardware.recommended_precision(has_gpu=False, cpu_bfloat16=True) == "mixed_bfloat16"
    assert hardware.recommended_precision(has_gpu=False, cpu_bfloat16=False) == "float32"
    assert hardware.recommended_precision(has_gpu=True, cpu_bfloat16=True) == "float32"  # GPU: not yet measured
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    expected = "mixed_bfloat16" if hardware.cpu_has_bfloat16() and not has_gpu else "float32"
    assert hardware.recommended_precision() == expected


def test_use_recommended_precision_sets_the_global_policy():
    try:
        assert hardware.use_recommended_precision(has_gpu=False, cpu_bfloat16=True) == "mixed_bfloat16"
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
        layer = keras.layers.Dense(2)
        assert layer.compute_dtype == "bfloat16" and layer.variable_dtype == "float32"
        assert hardware.use_recommended_precision(has_gpu=False, cpu_bfloat16=False) == "float32"
        assert keras.mixed_precision.global_policy().name == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")
