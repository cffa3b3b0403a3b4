"""Test-suite settings shared by the unit tests and the notebooks (run by nbval).

Set here, at import time, so the Jupyter kernels that nbval starts inherit them:
every notebook runs in smoke mode (a few steps), on the digits shipped with gan_utils,
writing into a fresh temporary folder, with an empty Keras download cache.
"""

import os
import shutil
import tempfile

_session_dir = tempfile.mkdtemp(prefix="gan-tests-")
os.environ["GAN_SMOKE_TEST"] = "1"
os.environ["GAN_DATA"] = "sample"
os.environ["GAN_OUTPUT_DIR"] = os.path.join(_session_dir, "outputs")
os.environ["KERAS_HOME"] = os.path.join(_session_dir, "keras-home")  # no dataset a developer cached
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Notebook 05 reads faces from GAN_CELEBA_DIR and the suite has no CelebA: 8 drawn faces and 1 corrupt file.
from tests.synthetic_faces import write_synthetic_faces  # noqa: E402

os.environ["GAN_CELEBA_DIR"] = os.path.join(_session_dir, "synthetic_faces")
write_synthetic_faces(os.environ["GAN_CELEBA_DIR"], count=8, seed=42, corrupt=1)
os.environ.pop("GAN_CELEBA_LIMIT", None)


def _drop_stderr_from_nbval_comparison():
    """TensorFlow logs to stderr at its own pace; compare only what a checked cell prints to stdout."""
    try:
        import nbval.plugin
    except ImportError:
        return
    compare_streams = nbval.plugin.transform_streams_for_comparison

    def stdout_only(outputs):
        return compare_streams([out for out in outputs if not (out.get("output_type") == "stream" and out.get("name") == "stderr")])

    nbval.plugin.transform_streams_for_comparison = stdout_only


_drop_stderr_from_nbval_comparison()


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_session_dir, ignore_errors=True)


def pytest_collection_modifyitems(items):
    """Notebooks first: each takes a kernel's start-up and tens of seconds, so with several test processes
    (pytest-xdist) the long ones start early and the short unit tests fill the gaps at the end."""
    items.sort(key=lambda item: 0 if item.nodeid.startswith("notebooks/") else 1)
