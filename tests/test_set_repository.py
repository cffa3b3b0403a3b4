"""tools/set_repository.py moves every notebook's Colab button, install line and links to one GitHub repository."""

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from tools import set_repository

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


@pytest.fixture
def copies(tmp_path):
    return [Path(shutil.copy(path, tmp_path / path.name)) for path in NOTEBOOKS]


def sources(path):
    return [cell.source for cell in nbformat.read(path, as_version=4).cells]


def text(path):
    return "\n".join(sources(path))


def test_every_button_install_line_and_relative_link_points_at_the_repository(copies, capsys):
    assert set_repository.main(["someone/my-gans", *map(str, copies)]) == 0
    assert "cell(s) rewritten" in capsys.readouterr().out
    for path in copies:
        content = text(path)
        assert f"https://colab.research.google.com/github/someone/my-gans/blob/main/notebooks/{path.name}" in content
        assert re.findall(r"git\+https://github\.com/\S+?(?=\")", content) == ["git+https://github.com/someone/my-gans"]
        assert "](../" not in content and "gan-tutorials" not in content
        links = re.findall(r"\]\((https://github\.com/[^)]+)\)", content)
        assert len(links) == text(NOTEBOOKS[0].with_name(path.name)).count("](../")
        assert all(link.startswith("https://github.com/someone/my-gans/blob/main/docs/") for link in links)
        nbformat.validate(nbformat.read(path, as_version=4))


def test_only_those_urls_change(copies):
    set_repository.set_repository(copies, "someone/my-gans")
    for original, copy in zip(NOTEBOOKS, copies):
        for before, after in zip(sources(original), sources(copy), strict=True):
            undone = (after.replace("https://colab.research.google.com/github/someone/my-gans/blob/main/",
                                    "https://colab.research.google.com/github/gan-tutorials/gan-notebooks/blob/main/")
                      .replace("git+https://github.com/someone/my-gans", "git+https://github.com/gan-tutorials/gan-notebooks")
                      .replace("](https://github.com/someone/my-gans/blob/main/", "](../"))
            assert undone == before


def test_running_it_again_moves_everything_to_the_new_repository_and_branch(copies):
    set_repository.set_repository(copies, "someone/my-gans")
    set_repository.set_repository(copies, "other-org/gans.v2", branch="v2")
    for path in copies:
        content = text(path)
        assert "someone" not in content
        assert f"https://colab.research.google.com/github/other-org/gans.v2/blob/v2/notebooks/{path.name}" in content
        assert "git+https://github.com/other-org/gans.v2@v2\"" in content
        assert all(link.startswith("https://github.com/other-org/gans.v2/blob/v2/")
                   for link in re.findall(r"\]\((https://github\.com/[^)]+)\)", content))


@pytest.mark.parametrize("repository", ["my-gans", "someone/my gans", "https://github.com/someone/my-gans", "a/b/c"])
def test_a_bad_repository_name_is_refused_and_nothing_is_written(copies, repository):
    before = [path.read_bytes() for path in copies]
    with pytest.raises(ValueError, match="OWNER/NAME"):
        set_repository.set_repository(copies, repository)
    assert [path.read_bytes() for path in copies] == before
