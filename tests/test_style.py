"""The notebooks follow docs/style.md: one name per concept, GAN_SEED everywhere, fixed noise for progress pictures."""

import ast
import re
from pathlib import Path

import pytest

from tools.notebook_cells import code_cells, tagged

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
# Names the series once used for a concept that now has one name (docs/style.md), and that name.
RETIRED = {"NUM_FEATURES": "LATENT_DIM", "ADAM_BETA_1": "BETA_1", "BATCHES_PER_EPOCH": "STEPS_PER_EPOCH",
           "NUM_EXAMPLES_TO_GENERATE": "NUM_PROGRESS_IMAGES", "GRID_SIZE": "NUM_PROGRESS_IMAGES",
           "NUM_PROGRESS_FACES": "NUM_PROGRESS_IMAGES", "SAMPLES_PER_DIGIT": "NUM_PROGRESS_IMAGES"}


def parameters(path):
    cell = tagged(path.name, "parameters")[0]
    assigned = set()
    for node in ast.parse(cell.source).body:
        if isinstance(node, ast.Assign):
            assigned |= {name.id for target in node.targets for name in ast.walk(target) if isinstance(name, ast.Name)}
    return cell.source, assigned


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_parameters_use_the_series_names_and_read_gan_seed(path):
    source, assigned = parameters(path)
    assert {"LATENT_DIM", "SEED"} <= assigned, f"{path.name}: every notebook's generator takes LATENT_DIM noise numbers"
    assert 'SEED = int(os.environ.get("GAN_SEED", SEED))' in source
    everything = "\n".join(cell.source for cell in code_cells(path.name))
    for old, new in RETIRED.items():
        assert not re.search(rf"\b{old}\b", everything), f"{path.name}: {old} is called {new} in this series"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_progress_pictures_come_from_noise_drawn_once(path):
    cells = code_cells(path.name)
    pictures = [(cell.index, line.strip()) for cell in cells for line in cell.source.splitlines()
                if re.search(r"save_image_grid|imsave|SampleGridCallback", line) and re.search(r"frame|images\" /", line)]
    if not pictures:
        return  # no progress pictures (notebooks 06, 08 and 09 measure with seeded noise instead)
    assert "NUM_PROGRESS_IMAGES" in parameters(path)[1], f"{path.name}: name the number of progress images NUM_PROGRESS_IMAGES"
    made = [cell for cell in cells if re.search(r"^progress_noise = ", cell.source, re.M)]
    assert len(made) == 1, f"{path.name}: draw progress_noise once, before training"
    for index, line in pictures:  # every picture of training progress is drawn from it, never from a batch's own noise
        assert "progress" in line, f"{path.name} cell {index}: a progress picture not from progress_noise: {line}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_saved_generators_load_one_way(path):
    everything = "\n".join(cell.source for cell in code_cells(path.name))
    assert not re.search(r"keras\.(models|saving)\.load_model", everything), (
        f"{path.name}: load saved generators with models.load_generator (safe mode, and checked)")
