"""gan_utils.metrics: the domain classifier, FID / KID / score, and their input checks."""

from pathlib import Path

import keras
import numpy as np
import pytest

from gan_utils import callbacks, data, metrics, models, training


@pytest.fixture(scope="module")
def digits():
    images, labels = data.load_mnist("sample")
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


def counting_trainings(monkeypatch):
    """Replace training by an untrained classifier; returns the list of the image counts it was asked to train on."""
    trained = []
    monkeypatch.setattr(metrics, "train_domain_classifier",
                        lambda images, labels, **kwargs: trained.append(len(images)) or metrics.build_domain_classifier())
    return trained


def test_default_path_follows_gan_data_and_the_cache_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(metrics.CLASSIFIER_DIR_ENV, str(tmp_path))
    assert metrics.default_classifier_path("mnist-sample") == tmp_path / "mnist-sample_classifier.keras"
    trained = counting_trainings(monkeypatch)
    metrics.load_domain_classifier("mnist")  # GAN_DATA=sample in the test suite
    metrics.load_domain_classifier("mnist")
    assert trained == [1000]
    images, labels = data.load_mnist("sample")
    fingerprint = metrics.training_fingerprint(images, labels, epochs=15, seed=0)
    assert sorted(path.name for path in tmp_path.glob("*.keras")) == [f"mnist-sample-{fingerprint[:16]}_classifier.keras"]


def test_the_cache_is_keyed_by_the_training_data_epochs_seed_and_keras_version(monkeypatch, tmp_path, digits):
    images, labels = digits[0][:50], digits[1][:50]
    base = metrics.training_fingerprint(images, labels, epochs=3, seed=0)
    assert base == metrics.training_fingerprint(images.copy(), labels.copy(), epochs=3, seed=0)
    changed_pixel = images.copy()
    changed_pixel[7, 3, 4, 0] += 0.01
    relabelled = labels.copy()
    relabelled[0] = (relabelled[0] + 1) % 10
    others = [metrics.training_fingerprint(changed_pixel, labels, 3, 0), metrics.training_fingerprint(images, relabelled, 3, 0),
              metrics.training_fingerprint(images[:49], labels[:49], 3, 0), metrics.training_fingerprint(images, labels, 4, 0),
              metrics.training_fingerprint(images, labels, 3, 1)]
    monkeypatch.setattr(keras, "__version__", "9.9.9")
    others.append(metrics.training_fingerprint(images, labels, 3, 0))
    assert len({base, *others}) == 1 + len(others)


def test_a_cached_classifier_is_used_only_for_what_it_was_trained_on(monkeypatch, tmp_path, digits):
    """The same path, asked for another training set, epochs or seed: trained again, not the stale file returned."""
    images, labels = digits[0][:30], digits[1][:30]
    path = tmp_path / "mine.keras"
    trained = counting_trainings(monkeypatch)
    metrics.load_domain_classifier(path=path, images=images, labels=labels, epochs=1)
    metrics.load_domain_classifier(path=path, images=images, labels=labels, epochs=1)
    assert trained == [30]
    metrics.load_domain_classifier(path=path, images=images[:20], labels=labels[:20], epochs=1)
    metrics.load_domain_classifier(path=path, images=images[:20], labels=labels[:20], epochs=2)
    metrics.load_domain_classifier(path=path, images=images[:20], labels=labels[:20], epochs=2, seed=1)
    assert trained == [30, 20, 20, 20]
    (tmp_path / "mine.keras.json").unlink()  # a file with no record of its training is not trusted either
    metrics.load_domain_classifier(path=path, images=images[:20], labels=labels[:20], epochs=2, seed=1)
    assert trained == [30, 20, 20, 20, 20]
    monkeypatch.setenv(metrics.CLASSIFIER_DIR_ENV, str(tmp_path / "cache"))  # own images, no path: named by fingerprint
    metrics.load_domain_classifier(images=images, labels=labels, epochs=1)
    metrics.load_domain_classifier(images=images[:10], labels=labels[:10], epochs=1)
    metrics.load_domain_classifier(images=images, labels=labels, epochs=1)
    assert trained[5:] == [30, 10] and len(list((tmp_path / "cache").glob("classifier-*_classifier.keras"))) == 2


def test_two_idx_folders_with_the_same_name_get_their_own_classifiers(monkeypatch, tmp_path, digits):
    from tests.test_mnist_idx import write_idx

    monkeypatch.setenv(metrics.CLASSIFIER_DIR_ENV, str(tmp_path / "cache"))
    folders = []
    for owner, (start, stop) in {"first": (0, 40), "second": (40, 70)}.items():
        folder = tmp_path / owner / "data"  # the README's `package/data`, twice
        folder.mkdir(parents=True)
        write_idx(folder / "train-images-idx3-ubyte", np.round((digits[0][start:stop, ..., 0] + 1) * 127.5))
        write_idx(folder / "train-labels-idx1-ubyte", digits[1][start:stop])
        folders.append(folder)
    trained = counting_trainings(monkeypatch)
    for folder in folders + folders:
        metrics.load_domain_classifier("mnist", source=str(folder))
    assert trained == [40, 30]
    assert len(list((tmp_path / "cache").glob("mnist-data-*_classifier.keras"))) == 2


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


def test_loading_or_training_a_classifier_leaves_the_callers_random_state_as_it_was(tmp_path, digits):
    """A notebook seeds once at the top; a classifier trained halfway must not reseed or advance its draws."""
    import random

    import tensorflow as tf

    def draws():
        return (random.random(), np.random.random(), float(tf.random.uniform([])),
                float(keras.random.uniform([])), float(keras.ops.convert_to_numpy(keras.layers.Dense(1)(np.ones((1, 1))))[0, 0]))

    keras.utils.set_random_seed(123)
    expected = draws()
    path = tmp_path / "classifier.keras"
    for _ in ("trained", "loaded from the cache"):
        keras.utils.set_random_seed(123)
        metrics.load_domain_classifier(path=path, images=digits[0][:64], labels=digits[1][:64], epochs=2, seed=0)
        assert draws() == expected


def test_the_classifier_measures_in_float32_under_a_bfloat16_policy(tmp_path, digits):
    images, labels = digits[0][:200], digits[1][:200]
    float32_classifier = metrics.train_domain_classifier(images, labels, epochs=2, seed=0)
    features, probabilities = metrics.classifier_outputs(float32_classifier, images)
    try:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        trained = metrics.load_domain_classifier(path=tmp_path / "c.keras", images=images, labels=labels, epochs=2, seed=0)
        loaded = metrics.load_domain_classifier(path=tmp_path / "c.keras")
        for classifier in (trained, loaded):
            assert {layer.compute_dtype for layer in classifier.layers[1:]} == {"float32"}  # all but the input
            features_bf, probabilities_bf = metrics.classifier_outputs(classifier, images)
            np.testing.assert_allclose(features_bf, features, rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(probabilities_bf, probabilities, rtol=1e-4, atol=1e-6)
            assert metrics.classifier_score(probabilities_bf) == pytest.approx(metrics.classifier_score(probabilities), rel=1e-5)
        with pytest.raises(ValueError, match="computes in bfloat16"):  # one built under the policy by hand
            inputs = keras.Input((28, 28, 1))
            metrics.classifier_outputs(keras.Model(inputs, keras.layers.Dense(10, name="features")(keras.layers.Flatten()(inputs))), images)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_statistics_and_shares_that_do_not_fit_are_refused_with_a_clear_message():
    eye = np.eye(4)
    for mean_a, covariance_a, mean_b in ((np.zeros(4), eye, np.zeros(3)), (np.zeros(4), np.eye(3), np.zeros(4)),
                                         (0.0, eye, np.zeros(4)), (np.zeros((4, 1)), eye, np.zeros(4))):
        with pytest.raises(ValueError, match="statistics do not match"):
            metrics.frechet_distance_from_statistics(mean_a, covariance_a, mean_b, eye)
    with pytest.raises(ValueError, match="mean_b contains NaN"):
        metrics.frechet_distance_from_statistics(np.zeros(4), eye, np.full(4, np.nan), eye)
    with pytest.raises(ValueError, match="sum to 1.*sum to 1000"):
        metrics.effective_classes([100] * 10)
    for bad in ([0.5, np.nan, 0.5], [1.2, -0.2], [[0.5, 0.5]], []):
        with pytest.raises(ValueError, match="non-negative finite"):
            metrics.effective_classes(bad)


def test_notebook_06s_nearest_neighbours_find_exact_copies_and_agree_with_a_pair_by_pair_search(digits):
    from tools.notebook_cells import definitions

    nearest_neighbours = definitions("06_evaluating_a_gan", "nearest_neighbours")["nearest_neighbours"]
    references = digits[0][:100]
    indices, distances = nearest_neighbours(references[[3, 41]], references)
    assert list(indices) == [3, 41] and np.allclose(distances, 0.0, atol=1e-4)
    queries = digits[0][100:110] * 0.5
    indices, distances = nearest_neighbours(queries, references)
    pairwise = np.sqrt(((queries[:, None].astype(np.float64) - references[None].astype(np.float64)) ** 2).sum(axis=(2, 3, 4)))
    np.testing.assert_array_equal(indices, pairwise.argmin(axis=1))
    np.testing.assert_allclose(distances, pairwise.min(axis=1), rtol=1e-9)


def test_generator_ema_tracks_the_generator_and_label_smoothing_trains():
    keras.utils.set_random_seed(0)
    gan = training.GAN(models.build_dcgan_generator(), models.build_dcgan_discriminator(), 100, real_label=0.9)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    images, _ = data.load_mnist("sample")
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
    images, _ = data.load_mnist("sample")
    gan.fit(data.make_dataset(images[:64], 16, shuffle=False), epochs=1, verbose=0, shuffle=False,
            callbacks=[average, callbacks.CheckpointCallback(checkpoint)])
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
    assert len(list(tmp_path.glob("fashion_mnist-*_classifier.keras"))) == 1
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
