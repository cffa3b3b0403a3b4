"""Each notebook ends with two or three one-line "Try it" exercises, each saying what to change and what to watch for."""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_the_last_cell_holds_two_or_three_one_line_exercises(path):
    last = json.loads(path.read_text())["cells"][-1]
    text = "".join(last["source"])
    assert last["cell_type"] == "markdown" and text.startswith("## Try it\n\n"), f"{path.name} ends without '## Try it'"
    lines = text.split("\n\n", 1)[1].splitlines()
    assert 2 <= len(lines) <= 3 and all(line.startswith("- ") for line in lines), f"{path.name}: 2 or 3 one-line bullets"
    for line in lines:
        assert ": " in line and ("watch" in line or "compare" in line), f"{path.name}: say what to watch for in {line!r}"
