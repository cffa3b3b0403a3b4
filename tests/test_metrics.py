"""gan_utils.metrics: the domain classifier, FID / KID / score, and their input checks."""

from pathlib import Path

import keras
import numpy as np
import pytest

from gan_utils import callbacks, data, metrics, models, training


@pytest.fixture(scope="module")
def digits():
    images, labels = data.load_mnist_sample()
    order = np.random.default_rng(0).permutation(len(images))
    return images[order], labels[order]


@pytest.fixture(scope="module")
def classifier_path(digits, tmp_path_factory):
    """A tiny classifier trained on 600 of the shipped real digits (the other 400 are held out)."""
    images, labels = digits
    path = tmp_path_factory.mktemp("classifier") / "mnist_test_classifier.keras"
    metrics.load_domain_classifier(path=path, images=images[:600], labels=labels[:600], epochs=15)
    return path


@pytest.fixture(scope="module")
def classifier(classifier_path):
    return metrics.load_domain_classifier(path=classifier_path)


def noise_images(count, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (count, 28, 28, 1)).astype(np.float32)


def test_classifier_is_cached_and_reloaded_without_retraining(classifier_path, digits, monkeypatch):
    assert classifier_path.exists()
    monkeypatch.setattr(metrics, "train_domain_classifier", lambda *a, **k: pytest.fail("retrained"))
    first = metrics.load_domain_classifier(path=classifier_path)
    second = metrics.load_domain_classifier(path=classifier_path)
    images = digits[0][600:650]
    np.testing.assert_allclose(first.predict(images, verbose=0), second.predict(images, verbose=0), rtol=1e-5)


def test_default_path_follows_gan_data_and_the_cache_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(metrics.CLASSIFIER_DIR_ENV, str(tmp_path))
    assert metrics.default_classifier_path("mnist-sample") == tmp_path / "mnist-sample_classifier.keras"
    trained = []
    monkeypatch.setattr(metrics, "train_domain_classifier",
                        lambda images, labels, **kwargs: trained.append(len(images)) or metrics.build_domain_classifier())
    metrics.load_domain_classifier("mnist")  # GAN_DATA=sample in the test suite
    assert trained == [1000] and (tmp_path / "mnist-sample_classifier.keras").exists()


def test_a_classifier_save_killed_half_way_leaves_no_file_that_later_loads_would_fail_on(monkeypatch, tmp_path, digits):
    """The classifier is cached once and loaded by every later run: a half-written file would break them all."""
    classifier = metrics.build_domain_classifier()

    def dies_half_way(path):
        Path(path).write_bytes(b"PK\x03\x04 the first bytes of a .keras archive, and no more")
        raise KeyboardInterrupt

    monkeypatch.setattr(classifier, "save", dies_half_way)
    monkeypatch.setattr(metrics, "train_domain_classifier", lambda *args, **kwargs: classifier)
    path = tmp_path / "classifier.keras"
    with pytest.raises(KeyboardInterrupt):
        metrics.load_domain_classifier(path=path, images=digits[0][:10], labels=digits[1][:10])
    assert not path.exists()
    monkeypatch.undo()
    metrics.load_domain_classifier(path=path, images=digits[0][:100], labels=digits[1][:100], epochs=1)
    assert metrics.load_domain_classifier(path=path).output_shape == (None, 10)


def test_classifier_learns_the_digits(classifier, digits):
    images, labels = digits
    _, probabilities = metrics.classifier_outputs(classifier, images[600:])
    assert (probabilities.argmax(axis=1) == labels[600:]).mean() > 0.7  # held out; chance is 0.1


def test_identical_sets_give_zero_fid_and_kid(classifier, digits):
    result = metrics.evaluate_images(classifier, digits[0][:400], digits[0][:400])
    assert result["fid"] == pytest.approx(0.0, abs=1e-6 * max(1.0, result["fid"]) + 1e-6)
    assert abs(result["kid"]) <= 3 * result["kid_se"] + 1e-9


def test_real_held_out_is_close_and_noise_is_far(classifier, digits):
    images = digits[0]
    real = metrics.evaluate_images(classifier, images[:500], images[500:])
    noise = metrics.evaluate_images(classifier, images[:500], noise_images(500))
    assert noise["fid"] > 10 * real["fid"]
    assert noise["kid"] > 10 * max(real["kid"], real["kid_se"])
    assert noise["score"] < 1.5 < real["score"]
    assert real["score"] > 5


def test_shifted_gaussians_match_the_closed_form():
    random = np.random.default_rng(0)
    mean_a, mean_b = np.zeros(3), np.array([1.0, -2.0, 0.5])
    scales_a, scales_b = np.array([1.0, 2.0, 0.5]), np.array([1.5, 1.0, 0.5])
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((scales_a - scales_b) ** 2)  # diagonal covariances
    exact = metrics.frechet_distance_from_statistics(mean_a, np.diag(scales_a ** 2), mean_b, np.diag(scales_b ** 2))
    assert exact == pytest.approx(expected, rel=1e-9)
    sampled = metrics.frechet_distance(mean_a + scales_a * random.standard_normal((50_000, 3)),
                                       mean_b + scales_b * random.standard_normal((50_000, 3)))
    assert sampled == pytest.approx(expected, rel=0.02)


def test_frechet_distance_of_a_full_covariance_matches_the_closed_form():
    # Same covariance, shifted mean: the distance is exactly the squared shift.
    covariance = np.array([[2.0, 0.8], [0.8, 1.0]])
    assert metrics.frechet_distance_from_statistics([0, 0], covariance, [3, 4], covariance) == pytest.approx(25.0)


def test_classifier_score_ranges_from_one_to_the_number_of_classes():
    assert metrics.classifier_score(np.eye(10)[np.arange(100) % 10]) == pytest.approx(10.0, rel=1e-6)
    assert metrics.classifier_score(np.tile(np.eye(10)[3], (50, 1))) == pytest.approx(1.0)
    assert metrics.classifier_score(np.full((50, 10), 0.1)) == pytest.approx(1.0)


def test_kid_standard_error_shrinks_with_more_samples():
    random = np.random.default_rng(1)
    small = metrics.kernel_distance(random.standard_normal((100, 8)), random.standard_normal((100, 8)) + 0.5)
    large = metrics.kernel_distance(random.standard_normal((2000, 8)), random.standard_normal((2000, 8)) + 0.5)
    assert large[1] < small[1] and large[0] > 3 * large[1]


@pytest.mark.parametrize("bad, message", [
    (np.zeros((10, 28, 28), np.float32), "shaped"),
    (np.zeros((10, 32, 32, 1), np.float32), "shaped"),
    (np.full((10, 28, 28, 1), 255.0, np.float32), r"\[-1, 1\]"),
])
def test_bad_images_raise_a_clear_error(classifier, bad, message):
    with pytest.raises(ValueError, match=message):
        metrics.classifier_outputs(classifier, bad)


def test_fid_needs_more_samples_than_feature_dimensions():
    random = np.random.default_rng(0)
    with pytest.raises(ValueError, match="more samples than dimensions"):
        metrics.frechet_distance(random.standard_normal((50, 64)), random.standard_normal((500, 64)))


def test_kid_and_score_reject_bad_arguments():
    with pytest.raises(ValueError, match="samples per set"):
        metrics.kernel_distance(np.zeros((10, 4)), np.zeros((10, 4)), num_subsets=10)
    with pytest.raises(ValueError, match="sum to 1"):
        metrics.classifier_score(np.ones((5, 10)))


def test_own_images_need_a_path():
    with pytest.raises(ValueError, match="path="):
        metrics.load_domain_classifier(images=noise_images(4), labels=np.zeros(4))


def test_nearest_neighbours_find_exact_copies(digits):
    references = digits[0][:100]
    indices, distances = metrics.nearest_neighbours(references[[3, 41]], references)
    assert list(indices) == [3, 41] and np.allclose(distances, 0.0, atol=1e-4)


def test_generator_ema_tracks_the_generator_and_label_smoothing_trains():
    keras.utils.set_random_seed(0)
    gan = training.GAN(models.build_dcgan_generator(), models.build_dcgan_discriminator(), 100, real_label=0.9)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    images, _ = data.load_mnist_sample()
    copy, average = callbacks.GeneratorEMA(decay=0.0), callbacks.GeneratorEMA(decay=0.99)
    history = gan.fit(data.make_dataset(images[:32], 8, shuffle=False), epochs=1, verbose=0, callbacks=[copy, average])
    assert np.isfinite(history.history["d_loss"][0])
    for ema, raw in zip(copy.ema_generator.weights, gan.generator.weights):
        np.testing.assert_allclose(np.array(ema), np.array(raw), rtol=1e-6, atol=1e-7)
    assert any(not np.allclose(np.array(ema), np.array(raw)) for ema, raw in zip(average.ema_generator.weights, gan.generator.weights))
    with pytest.raises(ValueError, match="decay"):
        callbacks.GeneratorEMA(decay=1.0)


def test_notebook_06_measures_the_average_of_the_weights_that_notebook_02_draws_from(tmp_path, monkeypatch):
    """Notebook 02 draws its digits from GeneratorEMA's average and checkpoints it: notebook 06 must measure that."""
    from tools.notebook_cells import code_cells, tagged

    keras.utils.set_random_seed(0)
    gan = training.GAN(models.build_dcgan_generator(), models.build_dcgan_discriminator(), 100)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    average = callbacks.GeneratorEMA(decay=0.9)
    checkpoint = callbacks.GANCheckpoint(gan, tmp_path / "checkpoints", ema=average, run_info={"data": "sample", "latent_dim": 100})
    images, _ = data.load_mnist_sample()
    gan.fit(data.make_dataset(images[:64], 16, shuffle=False), epochs=1, verbose=0, shuffle=False,
            callbacks=[average, callbacks.CheckpointCallback(checkpoint, every_n_epochs=1)])
    noise = np.random.default_rng(0).standard_normal((4, 100)).astype("float32")
    averaged, raw = (keras.ops.convert_to_numpy(g(noise, training=False)) for g in (average.ema_generator, gan.generator))
    assert not np.allclose(averaged, raw, atol=1e-3), "the average should differ from the generator here"

    measured = []  # what the cell's generator draws for `noise`, for each generator it measures

    def generate_images(generator, num_images, **kwargs):
        measured.append(keras.ops.convert_to_numpy(generator(noise, training=False)))
        return np.zeros((num_images, 28, 28, 1), np.float32)

    monkeypatch.setattr(metrics, "generate_images", generate_images)
    monkeypatch.setattr(metrics, "evaluate_images", lambda *args, **kwargs: dict(fid=0.0, kid=0.0, kid_se=0.0, score=1.0))
    notebook = "06_evaluating_a_gan"
    parameters = tagged(notebook, "parameters")[0].index
    namespace = {}
    for cell in tagged(notebook, "standalone"):  # the imports and the parameters
        if cell.index <= parameters:
            exec(cell.source, namespace)
    namespace.update(callbacks=callbacks, metrics=metrics, models=models, training=training, classifier=None,
                     reference_images=None, NOTEBOOK_02_CHECKPOINTS=tmp_path / "checkpoints")
    [cell] = [cell for cell in code_cells(notebook) if "NOTEBOOK_02_CHECKPOINTS.exists()" in cell.source]
    exec(cell.source, namespace)
    assert len(measured) == 1, "the cell measured no generator (or several)"
    np.testing.assert_allclose(measured[0], averaged, rtol=1e-5, atol=1e-6,
                               err_msg="notebook 06 measured another generator than notebook 02's average")


def test_fashion_mnist_gets_its_own_cached_classifier(monkeypatch, tmp_path, digits):
    monkeypatch.setenv(metrics.CLASSIFIER_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(data, "load_fashion_mnist", lambda: (digits[0][:20], digits[1][:20]))
    monkeypatch.setattr(metrics, "train_domain_classifier",
                        lambda images, labels, **kwargs: metrics.build_domain_classifier())
    metrics.load_domain_classifier("fashion_mnist")
    assert (tmp_path / "fashion_mnist_classifier.keras").exists()
    with pytest.raises(ValueError, match="'mnist' or 'fashion_mnist'"):
        metrics.load_domain_classifier("cifar10")


def test_generate_images_draws_the_noise_the_generator_was_trained_on():
    # A "generator" that shows its noise: the first 4 noise values become the 2x2 image's pixels.
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(4,))
    identity = keras.Model(inputs, keras.layers.Reshape((2, 2, 1))(inputs))
    normal = metrics.generate_images(identity, 3000, seed=1, batch_size=700)
    uniform = metrics.generate_images(identity, 3000, seed=1, noise="uniform")
    assert normal.shape == uniform.shape == (3000, 2, 2, 1)
    # Normal noise clipped to [-1, 1]: about 32% of the values sit on the clip; uniform noise never does.
    assert 0.28 < np.mean(np.abs(normal) == 1.0) < 0.36
    assert np.mean(np.abs(uniform) == 1.0) == 0.0 and uniform.min() >= -1.0 and uniform.max() < 1.0
    assert abs(uniform.std() - 1 / np.sqrt(3)) < 0.02  # the standard deviation of U(-1, 1)
    np.testing.assert_array_equal(normal, metrics.generate_images(identity, 3000, seed=1))  # seeded
    with pytest.raises(ValueError, match="normal.*uniform"):
        metrics.generate_images(identity, 10, noise="gaussian")


def test_effective_classes_is_exp_entropy_of_the_shares_and_skips_empty_classes():
    assert metrics.effective_classes(np.full(10, 0.1)) == pytest.approx(10.0)
    assert metrics.effective_classes([0.5, 0.5, 0.0, 0.0]) == pytest.approx(2.0)
    assert metrics.effective_classes([1.0, 0.0, 0.0]) == pytest.approx(1.0)
    assert metrics.effective_classes([0.9, 0.1]) == pytest.approx(np.exp(-(0.9 * np.log(0.9) + 0.1 * np.log(0.1))))
