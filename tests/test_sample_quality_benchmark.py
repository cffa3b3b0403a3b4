"""benchmarks/sample_quality.py's notebook mode: each notebook's networks train with that notebook's loop."""

import keras
import numpy as np
import pytest

from benchmarks import sample_quality
from gan_utils import data, metrics, training


@pytest.mark.parametrize("notebook", ["01", "03", "04"])
def test_notebook_networks_train_with_their_own_loop(notebook, monkeypatch):
    images, _ = data.load_mnist("sample")
    monkeypatch.setitem(sample_quality.NOTEBOOK_SETUPS[notebook], "batch_size", 16)  # the loop, not the batch, is tested
    batch_size = sample_quality.NOTEBOOK_SETUPS[notebook]["batch_size"]
    images = images[: 2 * batch_size + 5]  # two batches per epoch (the 5 left over are dropped): 3 steps cross an epoch
    initial_weights = []
    for _ in range(2):  # the seed fixes the initial weights, so train_notebook_networks(seed=0) starts from these
        keras.utils.set_random_seed(123)  # overridden: the seed given is the one that counts
        generator = sample_quality.build_notebook_networks(notebook, seed=0)[0]
        assert not initial_weights or training.count_changed_weights(generator, initial_weights) == 0
        initial_weights = training.snapshot_weights(generator)
    other_seed = sample_quality.build_notebook_networks(notebook, seed=1)[0]  # not the notebook's own SEED either
    assert training.count_changed_weights(other_seed, initial_weights) > 0

    measured = []
    generator = sample_quality.train_notebook_networks(notebook, images, steps=3, seed=0, every=2,
                                                       on_every=lambda step, model: measured.append((step, model)))

    assert measured == [(2, generator), (3, generator)]  # every 2 steps, and after the last
    assert training.count_changed_weights(generator, initial_weights) > 0
    fakes = metrics.generate_images(generator, 8, noise=sample_quality.NOTEBOOK_SETUPS[notebook]["noise"])
    assert fakes.shape == (8, 28, 28, 1) and np.isfinite(fakes).all()
    with pytest.raises(ValueError, match="steps >= 1"):
        sample_quality.train_notebook_networks(notebook, images, steps=0, seed=0)


def test_fashion_json_loader_reads_each_class_in_label_order(tmp_path):
    import json

    for label in range(10):  # the npm package's layout: src/clothes/<label>.json, {"data": [[784 pixels], ...]}
        rows = [[label * 10 + index] * 784 for index in range(3)] + [[]]  # its 0.json ends in empty rows
        (tmp_path / f"{label}.json").write_text(json.dumps({"data": rows}))
    images, labels = sample_quality.load_fashion_json(tmp_path, per_class=2)
    assert images.shape == (20, 28, 28) and images.dtype == np.uint8
    assert labels.tolist() == [label for label in range(10) for _ in range(2)]
    assert images[:, 0, 0].tolist() == [label * 10 + index for label in range(10) for index in range(2)]

    with pytest.raises(SystemExit, match="3 images"):
        sample_quality.load_fashion_json(tmp_path, per_class=4)
    (tmp_path / "9.json").unlink()
    with pytest.raises(SystemExit, match="9.json is missing"):
        sample_quality.load_fashion_json(tmp_path, per_class=2)


@pytest.mark.parametrize("make_step, article_optimizer, article_learning_rate", [
    ("make_article_003_step", keras.optimizers.Adam, 1e-3),  # the article's "adam"
    ("make_article_004_step", keras.optimizers.SGD, 1e-3),  # SGD(lr=0.001, momentum=0.9, nesterov=True)
])
def test_article_loops_use_their_own_optimizer_or_the_one_given(make_step, article_optimizer, article_learning_rate):
    from benchmarks import article_loops

    real_images = data.load_mnist("sample")[0][:4]

    def discriminator_optimizer_after_one_step(**options):
        generator = keras.Sequential([keras.Input((100,)), keras.layers.Dense(28 * 28, activation="tanh"),
                                      keras.layers.Reshape((28, 28, 1))])  # small: the test is about the optimizers
        discriminator = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                          keras.layers.Dense(1, activation="sigmoid")])
        train_step = getattr(article_loops, make_step)(generator, discriminator, 4, from_logits=False, **options)
        train_step(real_images)
        return discriminator.optimizer

    article = discriminator_optimizer_after_one_step()
    assert type(article) is article_optimizer
    assert float(article.learning_rate) == pytest.approx(article_learning_rate)
    assert int(article.iterations) == 1

    calls = []

    def dcgan_adam():
        calls.append(keras.optimizers.Adam(2e-4, beta_1=0.5))
        return calls[-1]

    given = discriminator_optimizer_after_one_step(make_optimizer=dcgan_adam)
    assert len(calls) == 2 and given is calls[0]  # one optimizer for D, another for the combined model
    assert float(given.learning_rate) == pytest.approx(2e-4) and given.beta_1 == 0.5
    assert int(given.iterations) == 1 and int(calls[1].iterations) == 1  # the generator's step used the second


def test_evaluate_mode_loads_checked_generator_files(tmp_path):
    from gan_utils import models

    generator, discriminator = models.build_dcgan_generator(), models.build_dcgan_discriminator()
    generator.save(tmp_path / "generator.keras")
    discriminator.save(tmp_path / "discriminator.keras")
    loaded = sample_quality.load_generator(tmp_path / "generator.keras")
    noise = np.zeros((2, 100), "float32")
    np.testing.assert_allclose(loaded(noise), generator(noise), atol=1e-6)
    with pytest.raises(ValueError, match="not a generator"):
        sample_quality.load_generator(tmp_path / "discriminator.keras")
    (tmp_path / "empty_checkpoints").mkdir()
    with pytest.raises(SystemExit, match="No checkpoint"):
        sample_quality.load_generator(tmp_path / "empty_checkpoints")


def test_each_result_is_written_as_it_is_measured(tmp_path, monkeypatch):
    """A long measurement that stops (here: the second seed fails) keeps the rows measured before it."""
    import json
    import sys

    trained_seeds = []
    train_for_real = sample_quality.train_notebook_networks

    def train_then_fail_on_seed_1(notebook, images, steps, seed, optimizer="article", **measuring):
        trained_seeds.append(seed)
        if seed == 1:
            raise KeyboardInterrupt
        return train_for_real(notebook, images, steps, seed, optimizer, **measuring)

    monkeypatch.setattr(sample_quality, "train_notebook_networks", train_then_fail_on_seed_1)
    untrained = metrics.build_domain_classifier()  # the rows' numbers do not matter here, only that they are written
    monkeypatch.setattr(sample_quality, "classifier_for", lambda *args: untrained)
    output = tmp_path / "results.jsonl"
    monkeypatch.setattr(sys, "argv", ["sample_quality", "notebook", "01", "--data", "sample", "--steps", "3", "--eval-every", "2",
                                      "--seeds", "0", "1", "--num-images", "100", "--cache-dir", str(tmp_path),
                                      "--output", str(output), "--grid", str(tmp_path / "grid.png")])
    with pytest.raises(KeyboardInterrupt):
        sample_quality.main()
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert trained_seeds == [0, 1]
    assert rows[0]["config"] == "real_held_out" and len(rows) == 3  # then seed 0 after steps 2 and 3
    assert [(row["seed"], row["step"], row["steps"], row["data"]) for row in rows[1:]] == [(0, 2, 3, "sample"), (0, 3, 3, "sample")]
    assert all(np.isfinite(row["fid"]) and row["num_fake"] == 100 for row in rows[1:])
    assert sorted(path.name for path in tmp_path.glob("grid*.png")) == ["grid_seed0.png", "grid_seed0_step2.png"]
