"""benchmarks/little_data.py: notebook 10's run histories into JSON lines, refused when unfinished; the figures."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from benchmarks import little_data
from gan_utils.models import build_dcgan_generator

SIZES = (500, 2000, 5000)  # notebook 10's DATA_SIZES
POLICY = ["translation", "cutout"]


def fake_run(output_dir, size, augmented, steps, seed_offset=0.0):
    """The files notebook 10 leaves for one run: history.json (one value per 250 steps) and run.json."""
    directory = output_dir / "10_little_data" / little_data.run_name(size, augmented) / "checkpoints"
    directory.mkdir(parents=True)
    count = steps // 250
    history = {"step": [250.0 * (index + 1) for index in range(count)], "train_seconds": [36.123456] * count,
               "fid": [100.0 + size / 1000 + augmented + seed_offset + index for index in range(count)],
               "kid": [200.0123456] * count, "gap_training": [0.1234567] * count, "gap_held_out": [0.0234567] * count,
               "d_loss": [1.3333333] * count, "g_loss": [0.8] * count, "real_score": [0.5] * count, "fake_score": [0.4] * count}
    (directory / "history.json").write_text(json.dumps(history))
    (directory / "run.json").write_text(json.dumps({"data": "/some/idx", "digits": size, "policy": POLICY if augmented else []}))
    return directory


@pytest.fixture
def executed(tmp_path):
    """Notebook 10 with the line its setup cell prints."""
    notebook = json.loads(little_data.NOTEBOOK.read_text())
    notebook["cells"][3]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["Keras dtype policy: mixed_bfloat16\n"]}]
    path = tmp_path / "executed.ipynb"
    path.write_text(json.dumps(notebook))
    return path


def test_collect_appends_one_row_per_run(tmp_path, executed, monkeypatch):
    monkeypatch.setenv("GAN_STEPS", "7")  # the parameters are read as the run got them, not from this shell
    monkeypatch.delenv("GAN_SEED", raising=False)
    results = tmp_path / "results.jsonl"
    results.write_text('{"old": "line"}\n')
    for size in SIZES:
        for augmented in (False, True):
            fake_run(tmp_path / "out", size, augmented, 500)

    rows = little_data.collect(tmp_path / "out", 1, executed, steps=500, results=results)

    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert lines[0] == {"old": "line"} and lines[1:] == rows and len(rows) == 6
    assert os.environ["GAN_STEPS"] == "7" and "GAN_SEED" not in os.environ  # the shell's variables, as they were
    assert [(row["training_digits"], row["augmented"]) for row in rows] == [(size, aug) for size in SIZES for aug in (False, True)]
    row = rows[3]  # 2,000 digits, augmented
    assert (row["run"], row["seed"], row["steps"], row["batch_size"], row["measure_every"]) == ("2000_digits_augmented", 1, 500, 64, 250)
    assert (row["policy"], row["precision"], row["num_eval_images"], row["num_gap_images"]) == (POLICY, "mixed_bfloat16", 2000, 500)
    assert row["history"]["fid"] == [103.0, 104.0] and row["history"]["d_loss"] == [1.333, 1.333]
    assert row["history"]["step"] == [250.0, 500.0] and row["history"]["train_seconds"] == [36.123, 36.123]
    assert row["history"]["gap_training"] == [0.12346, 0.12346] and row["date"].count("-") == 2


def test_collect_refuses_unfinished_or_different_runs(tmp_path, executed):
    results = tmp_path / "results.jsonl"
    for size in SIZES:
        for augmented in (False, True):
            fake_run(tmp_path / "out", size, augmented, 500 if (size, augmented) != (5000, True) else 250)
    with pytest.raises(ValueError, match="unfinished"):
        little_data.collect(tmp_path / "out", 42, executed, steps=500, results=results)
    with pytest.raises(ValueError, match="unfinished"):  # the notebook's default is 2,000 steps
        little_data.collect(tmp_path / "out", 42, executed, results=results)
    assert not results.exists()  # nothing written from a refused set

    run_json = tmp_path / "out" / "10_little_data" / "500_digits_plain" / "checkpoints" / "run.json"
    run_json.write_text(json.dumps({"data": "x", "digits": 500, "policy": POLICY}))
    fake_run(tmp_path / "out2", 500, False, 500)
    (tmp_path / "out2" / "10_little_data" / "500_digits_plain" / "checkpoints" / "run.json").write_text(run_json.read_text())
    with pytest.raises(ValueError, match="trained on"):
        little_data.collect(tmp_path / "out2", 42, executed, steps=500, results=results)


def test_figures_show_every_seed_of_one_length(tmp_path):
    results = tmp_path / "results.jsonl"
    rows = [{"seed": seed, "training_digits": size, "augmented": augmented, "steps": steps, "precision": "float32",
             "run": little_data.run_name(size, augmented),
             "history": {"step": [250.0, 500.0], "fid": [90.0, 80.0], "kid": [1.0, 2.0], "gap_training": [0.1, 0.2],
                         "gap_held_out": [0.1, 0.1]}}
            for steps in (500, 1000) for seed in (42, 1) for size in SIZES for augmented in (False, True)]
    results.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert set(little_data.layout(little_data.read_results(results, 500))[0]) == {42, 1}
    with pytest.raises(ValueError, match="No runs"):
        little_data.plot(results, 2000, tmp_path)

    fid_kid, gaps = little_data.plot(results, 500, tmp_path)
    with Image.open(fid_kid) as first, Image.open(gaps) as second:
        assert first.size[0] > 600 and second.size[1] > first.size[1] * 0.8  # gaps: one row of panels per seed


def test_grids_draw_the_checkpoints_last_generator(tmp_path):
    results = tmp_path / "results.jsonl"
    rows = []
    for size in SIZES[:1]:
        for augmented in (False, True):
            generator = build_dcgan_generator(100)
            directory = tmp_path / "out" / "10_little_data" / little_data.run_name(size, augmented) / "checkpoints"
            tf.train.Checkpoint(generator=generator).save(str(directory / "ckpt"))
            rows.append({"seed": 3, "training_digits": size, "augmented": augmented, "steps": 250, "precision": "float32",
                         "run": little_data.run_name(size, augmented), "history": {"fid": [55.0]}})
    results.write_text("".join(json.dumps(row) + "\n" for row in rows))

    restored = little_data.last_generator(directory, 100)
    noise = np.random.default_rng(0).standard_normal((4, 100)).astype("float32")
    np.testing.assert_allclose(restored(noise, training=False), generator(noise, training=False), atol=1e-6)
    with pytest.raises(FileNotFoundError):
        little_data.last_generator(tmp_path, 100)

    path = little_data.grids({3: tmp_path / "out"}, 250, results, tmp_path / "grids.png")
    with Image.open(path) as image:
        assert image.mode == "L" and image.size[1] > image.size[0]  # two rows (plain, augmented), one column
    assert keras.mixed_precision.global_policy().name == "float32"
