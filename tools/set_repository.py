"""Point every notebook at a GitHub repository: its Colab button, its ``%pip install`` line and its links.

Usage (from the repository root):  python tools/set_repository.py OWNER/NAME [--branch BRANCH] [notebooks/NAME.ipynb ...]

A fork, or the series' real home, runs this once and commits the result. In each notebook it rewrites

- the "Open in Colab" button to ``https://colab.research.google.com/github/OWNER/NAME/blob/BRANCH/notebooks/...``;
- the install line to ``git+https://github.com/OWNER/NAME`` (``@BRANCH`` unless the branch is main);
- relative links in the text (``../docs/quality.md``, which Colab cannot follow) and links to the previous
  repository's files to ``https://github.com/OWNER/NAME/blob/BRANCH/...``.

Running it again with another repository moves everything to that one. Nothing else in a notebook changes.
"""

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).parents[1]
REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}")
COLAB = re.compile(r"https://colab\.research\.google\.com/github/([^/\s\"]+/[^/\s\"]+)/blob/[^/\s\"]+/")
PIP = re.compile(r"git\+https://github\.com/[^/\s\"']+/[^/\s\"'@#]+(?:@[^\s\"'#]+)?")
RELATIVE_LINK = re.compile(r"\]\(\.\./")


def current_repository(notebook):
    """The repository the notebook's Colab button points at, or None."""
    for cell in notebook.cells:
        match = COLAB.search(cell.source)
        if match:
            return match.group(1)
    return None


def rewrite(source, repository, branch, old_repository=None):
    """``source`` with its Colab URL, pip URL and links moved to ``repository`` at ``branch``."""
    files = f"https://github.com/{repository}/blob/{branch}/"
    source = COLAB.sub(f"https://colab.research.google.com/github/{repository}/blob/{branch}/", source)
    source = PIP.sub(f"git+https://github.com/{repository}" + ("" if branch == "main" else f"@{branch}"), source)
    source = RELATIVE_LINK.sub(f"]({files}", source)
    if old_repository:
        source = re.sub(rf"\]\(https://github\.com/{re.escape(old_repository)}/blob/[^/\s)]+/", f"]({files}", source)
    return source


def set_repository(paths, repository, branch="main"):
    """Rewrite the notebooks at ``paths``; returns {path: number of cells changed}."""
    if not REPOSITORY.fullmatch(repository):
        raise ValueError(f"Expected OWNER/NAME, as in https://github.com/OWNER/NAME, got {repository!r}.")
    if not re.fullmatch(r"[A-Za-z0-9._/-]+", branch):
        raise ValueError(f"Not a branch name: {branch!r}.")
    changed = {}
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        old_repository = current_repository(notebook)
        count = 0
        for cell in notebook.cells:
            new_source = rewrite(cell.source, repository, branch, old_repository)
            if new_source != cell.source:
                cell.source, count = new_source, count + 1
        if count:
            nbformat.write(notebook, path)
        changed[path] = count
    return changed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repository", help="OWNER/NAME of the GitHub repository")
    parser.add_argument("--branch", default="main")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook in notebooks/")
    arguments = parser.parse_args(argv)
    paths = arguments.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    try:
        changed = set_repository(paths, arguments.repository, arguments.branch)
    except ValueError as error:
        parser.error(str(error))
    for path, count in changed.items():
        print(f"{path}: {count} cell(s) rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
