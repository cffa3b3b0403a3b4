"""Notebook 03: article 003's networks, its combined model with a frozen discriminator, and the sample data.

The networks, ``build_article_gan`` and ``train_article_step`` are taken from the notebook itself, so these
tests check the code a student reads.
"""

import keras
import numpy as np
import pytest

from gan_utils import data, training
from tools.notebook_cells import definitions


@pytest.fixture(scope="module")
def notebook():
    return definitions("03_fashion_mnist_dcgan", "build_generator", "build_discriminator", "build_article_gan",
                       "train_article_step")


def test_article_003_networks_have_the_articles_shapes_and_parameter_counts(notebook):
    generator, discriminator = notebook["build_generator"](100), notebook["build_discriminator"]()
    images = generator(np.random.default_rng(0).normal(size=(3, 100)).astype("float32"), training=False)
    scores = discriminator(images, training=False)
    assert tuple(images.shape) == (3, 28, 28, 1) and float(np.max(np.abs(images))) <= 1.0
    assert tuple(scores.shape) == (3, 1) and 0.0 < float(np.min(scores)) and float(np.max(scores)) < 1.0  # sigmoid
    # The article's model summaries: 840,705 (384 non-trainable) and 212,865 parameters.
    assert generator.count_params() == 840_705
    assert sum(int(np.prod(w.shape)) for w in generator.non_trainable_weights) == 384
    assert discriminator.count_params() == 212_865


def test_the_race_discriminator_is_the_same_network_without_its_sigmoid(notebook):
    """The race gives gan_utils' GAN, which works on logits, the article's discriminator minus the sigmoid."""
    with_sigmoid, logits = notebook["build_discriminator"](), notebook["build_discriminator"](final_activation=None)
    logits.set_weights(with_sigmoid.get_weights())  # fails unless the layers are the same
    images = np.random.default_rng(0).uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
    logit = keras.ops.convert_to_numpy(logits(images, training=False))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(with_sigmoid(images, training=False)), 1 / (1 + np.exp(-logit)),
                               rtol=1e-5, atol=1e-6)


def _article_models(notebook):
    """Article 003's compile order, from the notebook: D compiled, D frozen, then gan = Sequential([G, D]) compiled."""
    generator, discriminator = notebook["build_generator"](notebook["LATENT_DIM"]), notebook["build_discriminator"]()
    gan = notebook["build_article_gan"](generator, discriminator)
    return generator, discriminator, gan


def test_build_article_gan_trains_the_generator_only_and_leaves_the_discriminator_frozen(notebook):
    generator, discriminator, gan = _article_models(notebook)
    assert not discriminator.trainable and not discriminator.trainable_weights
    assert [id(w) for w in gan.trainable_weights] == [id(w) for w in generator.trainable_weights]


def test_the_articles_step_trains_each_network_on_its_own_step_only_even_after_a_retrace(notebook):
    """``train_article_step`` toggles ``trainable`` so that D learns on its step and stays put on G's."""
    generator, discriminator, gan = _article_models(notebook)
    moved_during_generator_step = []
    train_gan = gan.train_on_batch

    def watched_generator_step(*args, **kwargs):  # what D does while the generator learns through gan
        before = training.snapshot_weights(discriminator)
        result = train_gan(*args, **kwargs)
        moved_during_generator_step.append(training.count_changed_weights(discriminator, before))
        return result

    gan.train_on_batch = watched_generator_step
    rng = np.random.default_rng(0)
    for batch_size in (8, 8, 3):  # 3: a smaller last batch makes Keras trace both train functions again
        real_images = rng.uniform(-1, 1, (batch_size, 28, 28, 1)).astype("float32")
        before_d, before_g = training.snapshot_weights(discriminator), training.snapshot_weights(generator)
        d_loss, g_loss = notebook["train_article_step"](generator, discriminator, gan, real_images)
        assert np.isfinite(d_loss) and np.isfinite(g_loss)
        assert moved_during_generator_step[-1] == 0, f"the frozen discriminator moved during G's step (batch {batch_size})"
        assert training.count_changed_weights(discriminator, before_d) == len(discriminator.weights), (
            f"the discriminator did not learn on its own step (batch {batch_size})")
        assert training.count_changed_weights(generator, before_g) == len(generator.weights)
    assert len(moved_during_generator_step) == 3


def _discriminator_step(discriminator, batch_size, rng):
    fake_and_real = rng.uniform(-1, 1, (2 * batch_size, 28, 28, 1)).astype("float32")
    labels = np.array([[0.0]] * batch_size + [[1.0]] * batch_size, "float32")
    before = training.snapshot_weights(discriminator)
    discriminator.train_on_batch(fake_and_real, labels)
    return training.count_changed_weights(discriminator, before)


def test_a_discriminator_first_trained_while_frozen_never_trains_again(notebook):
    """Keras 3 reads `trainable` when it first traces the train function; later toggling is ignored."""
    generator, discriminator, gan = _article_models(notebook)
    rng = np.random.default_rng(0)
    with pytest.warns(UserWarning, match="does not have any trainable weights"):
        assert _discriminator_step(discriminator, 8, rng) == 0  # still frozen from building `gan`
    discriminator.trainable = True
    assert discriminator.trainable_weights, "the flag itself did change"
    assert _discriminator_step(discriminator, 8, rng) == 0, "Keras now retrains a discriminator first traced frozen"


def test_weight_check_counts_changed_tensors_and_rejects_another_models_snapshot(notebook):
    model = notebook["build_discriminator"]()
    model.trainable = False  # the check sees frozen weights too: it must show that a frozen network stayed put
    snapshot = training.snapshot_weights(model)
    assert training.count_changed_weights(model, snapshot) == 0
    model.weights[0].assign(model.weights[0] + 1.0)
    assert training.count_changed_weights(model, snapshot) == 1
    model.weights[-1].assign(model.weights[-1] + 1.0)
    assert training.count_changed_weights(model, snapshot) == 2
    with pytest.raises(ValueError, match="same model"):
        training.count_changed_weights(notebook["build_generator"](), snapshot)


def test_shipped_fashion_sample_is_real_balanced_and_clothing_shaped():
    images, labels = data.load_fashion_mnist("sample")
    assert images.shape == (1000, 28, 28, 1) and images.dtype == np.float32
    assert images.min() == -1.0 and images.max() == 1.0
    assert np.bincount(labels, minlength=10).tolist() == [100] * 10
    assert len(np.unique(images.reshape(1000, -1), axis=0)) == 1000  # no image twice
    covered = images[..., 0] > -0.8
    # Trousers (1) are tall and narrow, sneakers (7) wide and flat, sandals (5) the sparsest: the labels fit the pictures.
    def rows(k):  # mean number of image rows that class k's garments reach
        return covered[labels == k].any(axis=2).sum(axis=1).mean()

    def columns(k):
        return covered[labels == k].any(axis=1).sum(axis=1).mean()

    assert rows(1) > 1.8 * rows(7) and columns(7) > 1.5 * columns(1)
    share = [covered[labels == k].mean() for k in range(10)]
    assert min(range(10), key=share.__getitem__) == 5


def test_fashion_mnist_sample_source_and_class_names(monkeypatch):
    images, labels = data.load_fashion_mnist(source="sample")
    assert images.shape == (1000, 28, 28, 1) and set(labels.tolist()) == set(range(10))
    assert data.FASHION_MNIST_CLASS_NAMES[0] == "T-shirt/top" and data.FASHION_MNIST_CLASS_NAMES[9] == "Ankle boot"
    monkeypatch.setenv(data.DATA_SOURCE_ENV, "sample")
    assert len(data.load_fashion_mnist(source=None)[0]) == 1000


def test_fashion_mnist_without_network_names_the_folder_and_the_sample_switch():
    with pytest.raises(data.DatasetUnavailableError, match="GAN_DATA=sample") as error:
        data.load_fashion_mnist(source="keras")
    assert "fashion-mnist" in str(error.value) and "train-images-idx3-ubyte.gz" in str(error.value)
