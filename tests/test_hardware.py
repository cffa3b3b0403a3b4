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
