"""Notebook 03: article 003's networks, its combined model with a frozen discriminator, and the sample data."""

import keras
import numpy as np
import pytest

from gan_utils import data, models, training


def test_article_003_networks_have_the_articles_shapes_and_parameter_counts():
    generator = models.build_fashion_mnist_generator(100)
    discriminator = models.build_fashion_mnist_discriminator((28, 28, 1))
    images = generator(np.random.default_rng(0).normal(size=(3, 100)).astype("float32"), training=False)
    scores = discriminator(images, training=False)
    assert tuple(images.shape) == (3, 28, 28, 1) and float(np.max(np.abs(images))) <= 1.0
    assert tuple(scores.shape) == (3, 1) and 0.0 < float(np.min(scores)) and float(np.max(scores)) < 1.0  # sigmoid
    # The article's model summaries: 840,705 (384 non-trainable) and 212,865 parameters.
    assert generator.count_params() == 840_705
    assert sum(int(np.prod(w.shape)) for w in generator.non_trainable_weights) == 384
    assert discriminator.count_params() == 212_865


def _article_models():
    """Article 003's compile order: D compiled, D frozen, then gan = Sequential([G, D]) compiled."""
    generator = models.build_fashion_mnist_generator()
    discriminator = models.build_fashion_mnist_discriminator()
    discriminator.compile(loss="binary_crossentropy", optimizer="adam")
    discriminator.trainable = False
    gan = keras.Sequential([generator, discriminator])
    gan.compile(loss="binary_crossentropy", optimizer="adam")
    return generator, discriminator, gan


def _discriminator_step(discriminator, batch_size, rng):
    fake_and_real = rng.uniform(-1, 1, (2 * batch_size, 28, 28, 1)).astype("float32")
    labels = np.array([[0.0]] * batch_size + [[1.0]] * batch_size, "float32")
    before = training.snapshot_weights(discriminator)
    discriminator.train_on_batch(fake_and_real, labels)
    return training.count_changed_weights(discriminator, before)


def _generator_step(generator, discriminator, gan, batch_size, rng):
    before_generator, before_discriminator = training.snapshot_weights(generator), training.snapshot_weights(discriminator)
    gan.train_on_batch(rng.normal(size=(batch_size, 100)).astype("float32"), np.ones((batch_size, 1), "float32"))
    return (training.count_changed_weights(generator, before_generator),
            training.count_changed_weights(discriminator, before_discriminator))


def test_toggling_trainable_as_the_article_does_trains_each_network_on_its_own_step_only():
    generator, discriminator, gan = _article_models()
    rng = np.random.default_rng(0)
    for batch_size in (8, 8, 3):  # 3: a smaller last batch makes Keras trace both train functions again
        discriminator.trainable = True
        assert _discriminator_step(discriminator, batch_size, rng) == len(discriminator.weights)
        discriminator.trainable = False
        generator_changed, discriminator_changed = _generator_step(generator, discriminator, gan, batch_size, rng)
        assert discriminator_changed == 0, "the frozen discriminator moved during the generator's step"
        assert generator_changed == len(generator.weights)


def test_a_discriminator_first_trained_while_frozen_never_trains_again():
    """Keras 3 reads `trainable` when it first traces the train function; later toggling is ignored."""
    generator, discriminator, gan = _article_models()
    rng = np.random.default_rng(0)
    with pytest.warns(UserWarning, match="does not have any trainable weights"):
        assert _discriminator_step(discriminator, 8, rng) == 0  # still frozen from building `gan`
    discriminator.trainable = True
    assert discriminator.trainable_weights, "the flag itself did change"
    assert _discriminator_step(discriminator, 8, rng) == 0, "Keras now retrains a discriminator first traced frozen"


def test_weight_check_counts_changed_tensors_and_rejects_another_models_snapshot():
    model = models.build_fashion_mnist_discriminator()
    snapshot = training.snapshot_weights(model)
    assert training.count_changed_weights(model, snapshot) == 0
    model.weights[0].assign(model.weights[0] + 1.0)
    assert training.count_changed_weights(model, snapshot) == 1
    with pytest.raises(ValueError, match="same model"):
        training.count_changed_weights(models.build_fashion_mnist_generator(), snapshot)


def test_shipped_fashion_sample_is_real_balanced_and_clothing_shaped():
    images, labels = data.load_fashion_mnist_sample()
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
