"""benchmarks/time_to_quality.py: its variants train as they say, its runs measure what they say, its summary
finds the first measurement at the threshold."""

import json

import numpy as np
import tensorflow as tf
import pytest

from benchmarks import time_to_quality as ttq
from gan_utils import data, metrics


def test_each_variant_changes_only_its_setting():
    for config, changes in ttq.CONFIGS.items():
        chosen = ttq.settings(config)
        assert {key for key in chosen if chosen[key] != ttq.DEFAULTS[key]} == set(changes), config
    # notebook 02's parameters cell
    assert ttq.DEFAULTS == dict(batch_size=256, generator_lr=2e-4, discriminator_lr=2e-4, beta_1=0.5, real_label=0.9,
                                augment=False)
    gan = ttq.make_gan("ttur", seed=0)
    assert np.isclose(float(gan.generator_optimizer.learning_rate), 1e-4)
    assert np.isclose(float(gan.discriminator_optimizer.learning_rate), 4e-4)
    assert gan.real_label == 0.9 and np.isclose(float(gan.generator_optimizer.beta_1), 0.5)


def test_augment_variant_shows_the_discriminator_augmented_real_and_fake_images(monkeypatch):
    import gan_utils.augment

    seen = []
    original = gan_utils.augment.diff_augment

    def counting(images, *args, **kwargs):
        seen.append(tuple(images.shape))
        return original(images, *args, **kwargs)

    monkeypatch.setattr(gan_utils.augment, "diff_augment", counting)
    images = data.load_mnist("sample")[0][:16]
    assert "diff_augment(real_images" in ttq.notebook_cell_source(ttq.NOTEBOOK_10, "class AugmentedGAN(")  # the notebook's step
    with pytest.raises(ValueError, match="0 code cells"):
        ttq.notebook_cell_source(ttq.NOTEBOOK_10, "class NoSuchGAN(")
    for config, calls in (("defaults", 0), ("augment", 2)):
        seen.clear()
        gan = ttq.make_gan(config, seed=0)
        gan.train_step(tf.constant(images))  # eagerly: one call per image batch D judges
        assert seen == [(16, 28, 28, 1)] * calls, config


def test_a_short_run_measures_every_generator_at_every_evaluation():
    images = data.load_mnist("sample")[0][:96]
    classifier = metrics.build_domain_classifier(seed=0)  # untrained: the mechanics, not the numbers, are tested
    evaluate = ttq.Evaluator(classifier, data.load_mnist_test("sample")[0][:200], kid_subsets=2)
    rows = []
    gan, averages = ttq.train_run("batch128", 3, images, evaluate, steps=4, eval_every=2, num_images=100,
                                  report=rows.append, precision="float32", batch_size=32)
    assert [(row["step"], row["generator"]) for row in rows] == [(step, name) for step in (2, 4) for name in ttq.EVALUATED]
    assert {row["config"] for row in rows} == {"batch128"} and {row["seed"] for row in rows} == {3}
    assert all(row["images_seen"] == row["step"] * 32 and np.isfinite(row["fid"]) for row in rows)
    assert 0 < rows[0]["train_seconds"] <= rows[-1]["train_seconds"]
    assert int(gan.generator_optimizer.iterations) == 4
    noise = np.random.default_rng(0).standard_normal((8, 100)).astype("float32")
    raw, slow, fast = (np.asarray(model(noise, training=False)) for model in (gan.generator, *averages.values()))
    assert not np.allclose(raw, slow, atol=1e-4)  # the averages are not the generator
    # GeneratorEMA warms its decay up as min(decay, (1 + step) / (10 + step)): below 0.99 until step 890, so the
    # two averages are the same model until then and part afterwards.
    np.testing.assert_allclose(slow, fast, atol=1e-6)


def test_summary_takes_the_first_measurement_at_or_below_the_threshold(tmp_path):
    def curve(config, seed, fids, seconds_per_step=1.0):
        return [{"kind": "curve", "config": config, "seed": seed, "step": 200 * (index + 1), "generator": "ema0.999",
                 "fid": fid, "train_seconds": 200 * (index + 1) * seconds_per_step} for index, fid in enumerate(fids)]

    rows = (curve("defaults", 0, [90, 40, 30, 25]) + curve("defaults", 1, [80, 20, 35, 28])
            + curve("batch128", 0, [70, 27, 50]) + curve("augment", 0, [60, 50, 40])
            + [{"kind": "curve", "config": "augment", "seed": 0, "step": 200, "generator": "raw", "fid": 1.0,
                "train_seconds": 1.0}]  # another generator's curve is not the one summarised
            + [{"kind": "timing", "config": config, "seconds_per_step": value}
               for config, values in (("defaults", (1.0, 1.2, 1.1)), ("batch128", (0.5, 0.6, 0.7))) for value in values])
    assert ttq.choose_threshold(rows, 800) == 28  # the higher of the two seeds' FIDs at step 800
    table = {(row["config"], row["seed"]): row for row in ttq.summarize(rows, 28)}
    assert table["defaults", 0]["steps"] == 800 and table["defaults", 1]["steps"] == 400  # not the later rise to 35
    assert table["defaults", 1]["timed_seconds"] == pytest.approx(400 * 1.1)  # the median seconds per step
    assert table["batch128", 0]["steps"] == 400 and table["batch128", 0]["timed_seconds"] == pytest.approx(400 * 0.6)
    assert table["augment", 0]["steps"] is None and table["augment", 0]["last_step"] == 600
    with pytest.raises(ValueError, match="step 1000"):
        ttq.choose_threshold(rows, 1000)

    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    ttq.main(["summary", str(path), "--threshold-step", "800", "--figure", str(tmp_path / "fid.png")])
    assert (tmp_path / "fid.png").stat().st_size > 1000
