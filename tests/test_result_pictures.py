"""Notebooks show a finished run's result before anything runs: pictures attached to a markdown cell near the top.

Attachments render on GitHub, in Jupyter and in Colab without a network path. Only notebooks with a picture of a
real full run of their defaults carry one; 03, 04 and 05 have none yet.
"""

import base64
import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
WITH_RESULTS = ["01_vanilla_gan_mnist", "02_dcgan_mnist", "06_evaluating_a_gan", "07_conditional_gan_mnist", "08_wgan_gp_mnist",
                "09_when_a_gan_goes_wrong", "10_little_data", "03_fashion_mnist_dcgan"]
LIMIT = 3 * 1024 * 1024  # all notebooks' attachments together


def attached(path):
    """[(cell index, source, {name: bytes})] of the notebook's markdown cells with attachments."""
    cells = json.loads(path.read_text())["cells"]
    return [(index, "".join(cell["source"]), {name: base64.b64decode(data["image/png"]) for name, data in cell["attachments"].items()})
            for index, cell in enumerate(cells) if cell["cell_type"] == "markdown" and cell.get("attachments")]


@pytest.mark.parametrize("name", WITH_RESULTS)
def test_the_finished_runs_pictures_come_before_the_first_code_cell(name):
    path = next(path for path in NOTEBOOKS if path.stem == name)
    cells = json.loads(path.read_text())["cells"]
    first_code = next(index for index, cell in enumerate(cells) if cell["cell_type"] == "code")
    found = attached(path)
    assert found and found[0][0] < first_code, f"{name}: attach the finished run's picture above the first code cell"
    data = "60,000 Fashion-MNIST images" if name.startswith("03") else "60,000 digits"
    assert data in found[0][1], f"{name}: say on what data the pictures were made"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_every_attachment_is_a_valid_image_and_shown(path):
    for index, source, images in attached(path):
        shown = set(re.findall(r"\(attachment:([^)\s]+)\)", source))
        assert shown == set(images), f"{path.name} cell {index}: attached {sorted(images)}, shown {sorted(shown)}"
        for name, data in images.items():
            with Image.open(io.BytesIO(data)) as image:
                image.verify()  # raises on a truncated or corrupt file
                assert image.format == "PNG" and min(image.size) >= 100, f"{path.name}: {name} {image.format} {image.size}"


def test_the_attachments_together_stay_under_3_mb():
    total = sum(len(data) for path in NOTEBOOKS for _, _, images in attached(path) for data in images.values())
    assert 0 < total < LIMIT, f"{total:,} bytes of attached pictures"
