"""Nothing in gan_utils, the tools or the notebooks unpickles: no pickle modules, np.load without pickles,
Keras models loaded in safe mode."""

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
UNPICKLING_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}
UNPICKLING_CALLS = {"read_pickle", "load_pickle", "torch.load", "enable_unsafe_deserialization"}


def sources():
    for path in sorted((ROOT / "gan_utils").rglob("*.py")) + sorted((ROOT / "tools").rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), path.read_text()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for index, cell in enumerate(json.loads(path.read_text())["cells"]):
            if cell["cell_type"] == "code":
                lines = "".join(cell["source"]).splitlines()  # IPython magics are not Python
                yield f"{path.name} cell {index}", "\n".join(
                    line[: len(line) - len(line.lstrip())] + "pass" if line.lstrip()[:1] in ("%", "!") else line for line in lines)


def call_name(node):
    parts, func = [], node.func
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    return ".".join(reversed(parts))


def keyword(node, name):
    for item in node.keywords:
        if item.arg == name and isinstance(item.value, ast.Constant):
            return item.value.value
    return None


def unsafe_uses(source):
    """Each way ``source`` could unpickle: imports of pickling modules, np.load without allow_pickle=False,
    load_model without safe_mode=True, and other unpickling calls."""
    problems, tree = [], ast.parse(source)
    aliases = {}  # what a renamed import stands for: `from numpy import load as read` -> read: np.load
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases.update({alias.asname: "np" if alias.name == "numpy" else alias.name for alias in node.names if alias.asname})
        elif isinstance(node, ast.ImportFrom) and node.module:
            aliases.update({alias.asname or alias.name: ("np" if node.module == "numpy" else node.module) + "." + alias.name
                            for alias in node.names})
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [alias.name for alias in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            problems += [f"imports {name}" for name in modules if name.split(".")[0] in UNPICKLING_MODULES]
        elif isinstance(node, ast.Call):
            name = call_name(node)
            head, _, rest = name.partition(".")
            name = ".".join(filter(None, [aliases.get(head, head), rest]))
            if name in ("np.load", "numpy.load") and keyword(node, "allow_pickle") is not False:
                problems.append(f"{name} without allow_pickle=False")
            if name.endswith("load_model") and keyword(node, "safe_mode") is not True:
                problems.append(f"{name} without safe_mode=True")
            if name in UNPICKLING_CALLS or name.rsplit(".", 1)[-1] in UNPICKLING_CALLS:
                problems.append(f"calls {name}")
    return problems


@pytest.mark.parametrize("bad", [
    "import pickle", "from joblib import load", "import numpy as np\nnp.load('x.npy')",
    "np.load('x.npz', allow_pickle=True)", "keras.models.load_model('g.keras')",
    "keras.models.load_model('g.keras', safe_mode=False)", "pd.read_pickle('x')",
    "keras.config.enable_unsafe_deserialization()",
    # renamed imports hide the call's name
    "from numpy import load\nload('x.npy')", "import numpy as onp\nonp.load('x.npy')",
    "from keras.models import load_model as read_model\nread_model('g.keras')", "from keras import models\nmodels.load_model('g.keras')",
])
def test_the_scan_catches_each_way_to_unpickle(bad):
    assert unsafe_uses(bad)


def test_the_scan_accepts_safe_loading():
    assert not unsafe_uses("np.load(path, allow_pickle=False)\nkeras.models.load_model(path, compile=False, safe_mode=True)")
    assert not unsafe_uses("from numpy import load as read\nread(path, allow_pickle=False)\nimport numpy as onp\nonp.save(path, x)")


def test_gan_utils_tools_and_notebooks_never_unpickle():
    scanned = dict(sources())
    assert any(name.endswith(".ipynb cell 4") for name in scanned) and "gan_utils/data.py" in scanned
    problems = {name: unsafe_uses(source) for name, source in scanned.items()}
    assert not {name: found for name, found in problems.items() if found}


def test_the_shipped_digits_load_without_pickles():
    import numpy as np

    with np.load(ROOT / "gan_utils" / "data" / "mnist_sample.npz", allow_pickle=False) as sample:
        assert all(sample[name].dtype != object for name in sample.files)
