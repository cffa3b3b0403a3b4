"""benchmarks/precision.py: each notebook's GAN trains in the precision asked for and is measured in float32."""

import json

import imageio.v3 as iio
import keras
import numpy as np
import pytest

from benchmarks import precision
from gan_utils import data, metrics


@pytest.fixture(scope="module")
def digits():
    train_images, train_labels = data.load_mnist("sample")
    test_images, _ = data.load_mnist_test("sample")
    return train_images, train_labels, test_images, metrics.load_domain_classifier("mnist", source="sample")


@pytest.fixture
def small_batches(monkeypatch):
    """The notebooks' settings with small batches and notebook 08's critic steps cut to 2: the wiring, not the
    sizes, is tested (and it is quicker to trace)."""
    read = precision.notebook_defaults
    monkeypatch.setattr(precision, "notebook_defaults",
                        lambda notebook: {**read(notebook), "BATCH_SIZE": 8, "CRITIC_STEPS": 2})


@pytest.mark.parametrize("notebook", ["02", "07", "08"])
@pytest.mark.parametrize("dtype_policy", ["float32", "mixed_bfloat16"])
def test_trains_in_the_precision_asked_and_writes_one_row(notebook, dtype_policy, digits, small_batches, tmp_path):
    train_images, train_labels, test_images, classifier = digits
    results, grid = tmp_path / "results.jsonl", tmp_path / "grid.png"

    row, gan = precision.train_and_measure(notebook, dtype_policy, 3, 2, train_images, train_labels, test_images,
                                           classifier, num_images=100, grid=grid, results=results, note="test")

    assert keras.mixed_precision.global_policy().name == "float32"  # set back before measuring
    assert int(gan.generator_optimizer.iterations) == 2
    assert row["compute_dtype"] == ("bfloat16" if dtype_policy == "mixed_bfloat16" else "float32")
    assert gan.discriminator.layers[0].compute_dtype == row["compute_dtype"]
    assert (row["notebook"], row["precision"], row["seed"], row["steps"], row["batch"]) == (notebook, dtype_policy, 3, 2, 8)
    assert row["images_per_step"] == (16 if notebook == "08" else 8)  # notebook 08: a batch for each critic step
    assert (row["train_digits"], row["test_digits"], row["num_fake"]) == (1000, 1000, 100)
    for key in ("fid", "kid", "kid_se", "train_seconds"):
        assert isinstance(row[key], float) and np.isfinite(row[key]), key
    assert row["fid"] > 0 and row["train_seconds"] > 0 and row["date"].count("-") == 2 and "test" in row["machine"]
    assert row["sampler"] == ("generator" if notebook == "08" else "ema")
    if notebook == "07":
        assert 0 <= row["worst_digit_accuracy"] <= row["accuracy"] <= 1 and 0 <= row["worst_digit"] <= 9
        assert row["worst_digit_accuracy"] == min(row["accuracy_by_digit"].values())
    else:
        assert "accuracy" not in row
    assert [json.loads(line) for line in results.read_text().splitlines()] == [row]
    assert iio.imread(grid).shape == ((10 if notebook == "07" else 8) * 28, 8 * 28)  # 07: one row per digit

    if notebook == "08" and dtype_policy == "float32":
        fakes = metrics.generate_images(gan.generator, 64, seed=1)
        penalty = precision.penalty_precision(gan.discriminator, train_images[:64], fakes, weight_gradient_images=32)
        assert penalty["compute_dtype"] == {"float32": "float32", "mixed_bfloat16": "bfloat16"}
        assert 0 < penalty["norm_relative_error_median"] <= penalty["norm_relative_error_p99"] < 0.05  # bfloat16 rounds
        assert 0 < penalty["penalty_relative_error"] < 0.05 and penalty["penalty_weight_gradient_cosine"] > 0.99
        assert penalty["notebook_penalty_float32"] == pytest.approx(penalty["penalty_float32"], rel=0.5)  # other points
        assert keras.mixed_precision.global_policy().name == "float32"


def test_settings_are_the_notebooks_defaults_not_smoke_mode(monkeypatch):
    monkeypatch.setenv("GAN_SMOKE_TEST", "1")
    monkeypatch.setenv("GAN_EPOCHS", "1")
    settings = precision.notebook_defaults("02")
    assert settings["EPOCHS"] > 2 and settings["BATCH_SIZE"] > 32  # neither smoke mode's nor the environment's
    assert precision.os.environ["GAN_EPOCHS"] == "1"  # left as it was
    assert precision.notebook_defaults("08")["CRITIC_STEPS"] > 1


def test_refuses_unknown_settings(digits):
    train_images, train_labels, test_images, classifier = digits
    for notebook, dtype_policy, steps in (("05", "float32", 2), ("02", "mixed_float16", 2), ("02", "float32", 0)):
        with pytest.raises(ValueError, match="Need a notebook"):
            precision.train_and_measure(notebook, dtype_policy, 0, steps, train_images, train_labels, test_images, classifier)
