"""Test sessions run with nox (`pip install nox`, then `nox -s colab`).

`colab`: the whole test suite on the versions Google Colab ships, with gan_utils installed the way the
notebooks' Colab cell installs it. Arguments after `--` go to pytest instead of the whole suite:
`nox -s colab -- tests/test_saved_cells.py notebooks/02_dcgan_mnist.ipynb`.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import nox

nox.options.sessions = ["colab"]
nox.options.error_on_missing_interpreters = True  # a missing Python fails the run instead of skipping the session

ROOT = Path(__file__).resolve().parent

# Colab's runtime: googlecolab/backend-info, pip-freeze.txt at commit a724079 ("Upgrade to Python 3.13",
# 2026-08-19; os-info.txt there: Python 3.13.15). Every version below is that file's, for the packages this
# session installs. tests/test_packaging.py checks that pyproject.toml's lower bounds are these versions.
COLAB_VERSIONS = {
    # What the notebooks and gan_utils import (pyproject.toml's dependencies).
    "tensorflow": "2.20.0", "keras": "3.13.2", "numpy": "2.1.3", "matplotlib": "3.10.0", "pillow": "11.3.0",
    "ipython": "7.34.0", "imageio": "2.37.4", "tqdm": "4.67.3",
    # The kernel and the test runner.
    "pytest": "8.4.2", "ipykernel": "6.17.1", "jupyter-client": "7.4.9", "nbclient": "0.10.4", "nbformat": "5.11.1",
    # Installed with them.
    "absl-py": "1.4.0", "astunparse": "1.6.3", "attrs": "26.1.0", "backcall": "0.2.0", "certifi": "2026.7.22",
    "charset-normalizer": "3.4.9", "contourpy": "1.3.3", "cycler": "0.12.1", "debugpy": "1.8.15",
    "decorator": "4.4.2", "entrypoints": "0.4", "fastjsonschema": "2.22.2", "flatbuffers": "25.12.19",
    "fonttools": "4.63.0", "gast": "0.7.0", "google-pasta": "0.2.0", "grpcio": "1.83.0", "h5py": "3.16.0",
    "idna": "3.18", "iniconfig": "2.3.0", "jsonschema": "4.26.0", "jsonschema-specifications": "2025.9.1",
    "jupyter-core": "5.9.1", "kiwisolver": "1.5.0", "libclang": "18.1.1", "markdown": "3.10.3",
    "markdown-it-py": "4.2.0", "markupsafe": "3.0.3", "matplotlib-inline": "0.2.2", "mdurl": "0.1.2",
    "ml-dtypes": "0.6.0", "namex": "0.1.0", "nest-asyncio": "1.6.0", "opt-einsum": "3.4.0", "optree": "0.19.1",
    "packaging": "26.3", "parso": "0.8.7", "pexpect": "4.9.0", "pickleshare": "0.7.5", "platformdirs": "4.11.3",
    "pluggy": "1.6.0", "prompt-toolkit": "3.0.53", "protobuf": "5.29.6", "psutil": "5.9.5", "ptyprocess": "0.7.0",
    "pygments": "2.21.0", "pyparsing": "3.3.2", "python-dateutil": "2.9.0.post0", "pyzmq": "26.2.1",
    "referencing": "0.37.0", "requests": "2.32.4", "rich": "13.9.4", "rpds-py": "2026.6.3", "setuptools": "75.2.0",
    "six": "1.17.0", "tensorboard": "2.20.0", "tensorboard-data-server": "0.7.2", "termcolor": "3.3.0",
    "tornado": "6.5.7", "traitlets": "5.7.1", "typing-extensions": "4.16.0", "urllib3": "2.5.0", "wcwidth": "0.8.2",
    "werkzeug": "3.1.8", "wheel": "0.48.0", "wrapt": "2.3.0",
}
# Colab's Python is 3.13. Colab has neither nbval nor pytest-xdist, so they come at requirements.txt's versions;
# jedi (for IPython), coverage (for nbval) and execnet (for pytest-xdist), not in Colab's list either, at their newest.
COLAB_PYTHON_VERSION = "3.13"
NOT_ON_COLAB = ["nbval==0.11.0", "pytest-xdist==3.8.0"]
SESSION_PACKAGES = ["tensorflow", "keras", "numpy", "matplotlib", "pillow", "ipython", "imageio", "tqdm",
                    "pytest", "ipykernel", "jupyter-client", "nbclient", "nbformat"]


def normalize(name):
    """A distribution name as pip compares them (PEP 503): "Jupyter_Client" -> "jupyter-client"."""
    return re.sub(r"[-_.]+", "-", name).lower()


def find_python(version):
    """A Python `version` interpreter that runs: $COLAB_PYTHON, `pythonX.Y` on PATH, or one pyenv installed.

    (A pyenv shim for a version that is installed but not selected is on PATH and fails, so each is tried.)
    Returns `version` itself when none runs, and nox then reports the interpreter as missing.
    """
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = [os.environ.get("COLAB_PYTHON"), shutil.which(f"python{version}"),
                  *sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"), reverse=True)]
    check = f"import sys; sys.exit(sys.version_info[:2] != {tuple(int(part) for part in version.split('.'))})"
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", check], capture_output=True).returncode == 0:
            return candidate
    return version


@nox.session(python=find_python(COLAB_PYTHON_VERSION))
def colab(session):
    """The test suite on Colab's versions, against gan_utils installed NON-editably, as in Colab."""
    session.env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    session.env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # debugpy's "frozen modules" warning on Python 3.13 kernels
    started = time.monotonic()
    tmp = Path(session.create_tmp())
    constraints = tmp / "colab-constraints.txt"
    constraints.write_text("".join(f"{name}=={version}\n" for name, version in COLAB_VERSIONS.items()))
    # 1. Colab's runtime: the packages the series uses, and the kernel and pytest, at Colab's versions.
    session.install("-c", str(constraints), *SESSION_PACKAGES, *NOT_ON_COLAB)

    # 2. gan_utils as the notebooks' Colab cell installs it (`%pip install "gan_utils @ git+..."`): a regular,
    #    non-editable install with its declared dependencies and no constraints, so a lower bound above Colab's
    #    version would upgrade that package here as it would in Colab (and step 3 says so). pip builds from a copy
    #    of the tree, as from a git clone: no stale build/ folder can add deleted modules to the wheel, and
    #    nothing is written into the working tree.
    source = tmp / "source"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".nox", "build", "dist", "*.egg-info", "__pycache__", "outputs", ".ipynb_checkpoints"))
    session.install(str(source))

    session.log(f"Installed in {time.monotonic() - started:.0f} s")

    # 3. Still Colab's versions?
    installed = {normalize(package["name"]): package["version"] for package in
                 json.loads(session.run("python", "-m", "pip", "list", "--format=json", silent=True))}
    python = session.run("python", "-c", "import platform; print(platform.python_version())", silent=True).strip()
    session.log(f"Python {python}; " + ", ".join(f"{name} {installed.get(name)}" for name in SESSION_PACKAGES))
    changed = [f"{name} {installed[name]} (Colab: {version})" for name, version in COLAB_VERSIONS.items()
               if name in installed and installed[name] != version]
    if changed:
        session.error("Not Colab's versions after installing gan_utils (a lower bound in pyproject.toml above "
                      "Colab's version?): " + "; ".join(changed))

    # 4. The tests, against the INSTALLED gan_utils. pytest's default import mode puts the repository root first
    #    on sys.path when it loads conftest.py and the tests, so `import gan_utils` would find the source tree.
    #    `-p gan_utils` imports the installed package as pytest starts, before that (the `pytest` script, unlike
    #    `python -m pytest`, does not put the working folder on sys.path): every later `import gan_utils` or
    #    `from gan_utils import data` in the tests then uses it, while `tools`, `benchmarks` and `tests`, which
    #    are not installed, still come from the repository. (`--import-mode=append` would do it too, but with
    #    Colab's IPython 7.34, which appends IPython/extensions, holding a `tests` package, to sys.path,
    #    `import tests...` in conftest.py then finds IPython's.) Notebook kernels start in notebooks/, where only
    #    the installed gan_utils can be found. GAN_UTILS_EXPECT_INSTALLED=1 makes tests/test_packaging.py check
    #    both; it runs whatever arguments are given.
    session.env["GAN_UTILS_EXPECT_INSTALLED"] = "1"
    paths = [Path(argument.split("::")[0]).resolve() for argument in session.posargs if not argument.startswith("-")]
    packaging_tests = ROOT / "tests" / "test_packaging.py"
    extra = ["tests/test_packaging.py"] if paths and packaging_tests not in paths else []
    session.run("pytest", "-p", "gan_utils", "--nbval-lax", *extra, *session.posargs)
