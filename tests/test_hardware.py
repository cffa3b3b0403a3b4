import keras
import pytest
import tensorflow as tf

from gan_utils import hardware


def test_report_states_versions_and_devices(capsys):
    gpus = hardware.check_hardware()
    printed = capsys.readouterr().out
    assert f"TensorFlow {tf.__version__}, Keras {keras.__version__}" in printed
    assert gpus == [gpu.name for gpu in tf.config.list_physical_devices("GPU")]


def test_without_a_gpu_the_report_says_training_runs_on_the_cpu(monkeypatch, capsys):
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    assert hardware.check_hardware() == []
    printed = capsys.readouterr().out
    assert "No GPU found" in printed and "Colab" in printed


def test_with_a_gpu_the_report_lists_it_and_does_not_warn(monkeypatch, capsys):
    fake_gpu = tf.config.PhysicalDevice(name="/physical_device:GPU:0", device_type="GPU")
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [fake_gpu] if kind == "GPU" else [])
    gpus = hardware.check_hardware()
    printed = capsys.readouterr().out
    assert gpus == ["/physical_device:GPU:0"]
    assert "GPU:0" in printed and "No GPU found" not in printed


@pytest.mark.parametrize("older, newer", [("2.9", "2.16"), ("2.16.1", "2.20.0"), ("3.9.2", "3.13"), ("2.20.0rc1", "2.21.0"),
                                          ("3.13.2", "3.15.1")])
def test_versions_compare_as_numbers_not_as_strings(older, newer):
    assert hardware.version_tuple(older) < hardware.version_tuple(newer)
    assert hardware.version_tuple("2.21.0rc1") == (2, 21, 0) and hardware.version_tuple("3.13.2.dev2026") == (3, 13, 2)


def test_a_too_old_tensorflow_or_keras_gets_a_clear_message_naming_the_upgrade():
    hardware.check_versions({"TensorFlow": hardware.MINIMUM_VERSIONS["TensorFlow"], "Keras": "3.13.2"})  # the oldest tested
    with pytest.raises(RuntimeError, match=r"TensorFlow 2.9.1 \(this series needs 2.20 or newer\).*pip install -U tensorflow keras"):
        hardware.check_versions({"TensorFlow": "2.9.1", "Keras": "3.15.1"})  # as strings, "2.9.1" > "2.20"
    with pytest.raises(RuntimeError, match=r"Keras 2.15.0 \(this series needs 3.13"):
        hardware.check_versions({"TensorFlow": "2.21.0", "Keras": "2.15.0"})


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
    assert hardware.recommended_precision(has_gpu=True, cpu_bfloat16=True) == "float32"  # GPU: Keras' default
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    expected = "mixed_bfloat16" if hardware.cpu_has_bfloat16() and not has_gpu else "float32"
    assert hardware.recommended_precision() == expected


def test_use_recommended_precision_sets_the_global_policy(monkeypatch):
    monkeypatch.delenv(hardware.PRECISION_ENV, raising=False)
    try:
        assert hardware.use_recommended_precision(has_gpu=False, cpu_bfloat16=True) == "mixed_bfloat16"
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
        layer = keras.layers.Dense(2)
        assert layer.compute_dtype == "bfloat16" and layer.variable_dtype == "float32"
        assert hardware.use_recommended_precision(has_gpu=False, cpu_bfloat16=False) == "float32"
        assert keras.mixed_precision.global_policy().name == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("forced", ["float32", "mixed_bfloat16"])
def test_gan_precision_overrides_the_machines_precision(monkeypatch, forced):
    """The way to run the other precision's path on any CPU (CI runs every notebook in both)."""
    monkeypatch.setenv(hardware.PRECISION_ENV, forced)
    try:
        for cpu_bfloat16 in (True, False):
            assert hardware.use_recommended_precision(has_gpu=False, cpu_bfloat16=cpu_bfloat16) == forced
            assert keras.mixed_precision.global_policy().name == forced
        monkeypatch.setenv(hardware.PRECISION_ENV, "bfloat16")
        with pytest.raises(ValueError, match="GAN_PRECISION='bfloat16'.*float32, mixed_bfloat16"):
            hardware.use_recommended_precision()
        assert keras.mixed_precision.global_policy().name == forced  # left as it was
    finally:
        keras.mixed_precision.set_global_policy("float32")
