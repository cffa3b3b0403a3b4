"""How good are the samples? Metrics computed with a small domain classifier, with no download.

Taught in notebook 06 ("Evaluating a GAN"). The usual FID and Inception score run images through
Inception-v3, a 90 MB ImageNet network that must be downloaded and that knows little about 28x28
digits. Here a small classifier, trained by ``gan_utils`` itself on the dataset's labelled images
(MNIST or Fashion-MNIST) and cached as a ``.keras`` file, plays Inception's part:

- **FID (domain classifier)**: the Fréchet distance between Gaussians fitted to the classifier's
  penultimate-layer features of real and generated images. Lower is better; 0 = same statistics.
  These numbers are *not* comparable with published Inception FIDs.
- **KID (domain classifier)**: the unbiased squared maximum mean discrepancy with the cubic polynomial
  kernel on the same features, with a standard error. Unbiased, so usable with a few hundred images.
- **classifier score** (the Inception-score analogue): exp E_x[KL(p(y|x) || p(y))]. From 1 (every image
  gets the same, or a uniform, class distribution) up to 10 (each image is confidently one class, and all
  10 classes are equally common).

Images are float32 (N, H, W, C) in [-1, 1], as everywhere in the series. Features are (N, D) arrays.
"""

import hashlib
import json
import os
from pathlib import Path

import keras
import numpy as np
from keras import layers

from gan_utils import data
from gan_utils.callbacks import replace_atomically

FEATURE_DIM = 64  # width of the classifier's feature layer: FID needs more images than this
FEATURE_LAYER = "features"
CLASSIFIER_DIR_ENV = "GAN_CLASSIFIER_DIR"


# --- The domain classifier -------------------------------------------------------------------

def build_domain_classifier(image_shape=(28, 28, 1), num_classes=10, feature_dim=FEATURE_DIM, seed=None) -> keras.Model:
    """A small CNN: images (batch, H, W, C) in [-1, 1] -> class logits (batch, num_classes), all in float32.

    Two strided 3x3 convolutions (32, 64 filters), then a Dense layer named ``"features"``
    (``feature_dim`` units, ReLU) whose outputs the metrics compare, then the logits. Every layer computes
    in float32 whatever Keras' global dtype policy (a measurement in bfloat16 would be rounded to about
    3 significant digits). ``seed`` (an int) draws the same initial weights without touching the global
    random state.
    """
    if len(image_shape) != 3:
        raise ValueError(f"image_shape must be (height, width, channels), got {image_shape}.")
    initializers = (keras.initializers.GlorotUniform(seed=None if seed is None else int(seed) + layer) for layer in range(4))
    float32 = {"dtype": "float32"}
    inputs = keras.Input(shape=tuple(image_shape), name="images", dtype="float32")
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu", kernel_initializer=next(initializers), **float32)(inputs)
    x = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu", kernel_initializer=next(initializers), **float32)(x)
    x = layers.Flatten(**float32)(x)
    features = layers.Dense(int(feature_dim), activation="relu", name=FEATURE_LAYER, kernel_initializer=next(initializers), **float32)(x)
    logits = layers.Dense(int(num_classes), name="logits", kernel_initializer=next(initializers), **float32)(features)
    return keras.Model(inputs, logits, name="domain_classifier")


def train_domain_classifier(images, labels, epochs=3, batch_size=128, seed=0, verbose=0) -> keras.Model:
    """Train :func:`build_domain_classifier` on labelled real images; returns the trained model.

    ``images``: float32 (N, H, W, C) in [-1, 1]; ``labels``: integers (N,) from 0 to num_classes - 1.
    ``seed`` fixes the initial weights and the order of the images, so the same data gives the same
    classifier; the caller's random state (Python, NumPy, TensorFlow, Keras) is left as it was.
    """
    images = data.check_images(images)
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    if len(labels) != len(images):
        raise ValueError(f"Got {len(images)} images but {len(labels)} labels: pass one label per image.")
    classifier = build_domain_classifier(images.shape[1:], num_classes=int(labels.max()) + 1, seed=seed)
    classifier.compile(optimizer=keras.optimizers.Adam(1e-3),
                       loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    shuffling = np.random.default_rng(seed)  # its own generator: fit(shuffle=True) would draw from the global one
    for epoch in range(int(epochs)):
        order = shuffling.permutation(len(images))
        classifier.fit(images[order], labels[order], initial_epoch=epoch, epochs=epoch + 1,
                       batch_size=int(batch_size), shuffle=False, verbose=verbose)
    return classifier


def training_fingerprint(images, labels, epochs, seed) -> str:
    """A hex digest of everything a trained classifier depends on: the images and labels (their bytes),
    the class count, epochs, seed, feature width and the Keras version. Cached classifiers are named by it."""
    images = np.ascontiguousarray(images, dtype=np.float32)
    labels = np.ascontiguousarray(labels, dtype=np.int64).reshape(-1)
    digest = hashlib.sha256()
    for part in (images.shape, images, labels, int(labels.max()) + 1 if len(labels) else 0, int(epochs), int(seed),
                 FEATURE_DIM, keras.__version__):
        digest.update(part.tobytes() if isinstance(part, np.ndarray) else repr(part).encode())
    return digest.hexdigest()


def default_classifier_path(name) -> Path:
    """Where the classifier called ``name`` is cached: ``$GAN_CLASSIFIER_DIR`` or ``$KERAS_HOME/gan_utils``."""
    folder = Path(os.environ.get(CLASSIFIER_DIR_ENV, data.keras_cache_dir().parent / "gan_utils"))
    return folder / f"{name}_classifier.keras"


def load_domain_classifier(dataset="mnist", path=None, images=None, labels=None, epochs=None, seed=0, verbose=0, source=None):
    """The domain classifier trained on ``dataset`` (or on ``images``/``labels``): from the cache if it holds one
    trained on the same data, classes, ``epochs`` and ``seed`` with this Keras version, else trained and cached.

    ``dataset``: ``"mnist"`` (the training digits from :func:`gan_utils.data.load_mnist`, which reads
    ``GAN_DATA`` unless ``source`` is given: with ``"sample"`` the 1,000 shipped digits, or a folder of IDX
    files) or ``"fashion_mnist"``. Or pass your own labelled ``images``/``labels``.
    ``path``: where to cache it; by default :func:`default_classifier_path` with the dataset's name and
    :func:`training_fingerprint` in the file name. A file at a ``path`` you give is checked against the
    fingerprint written beside it (``PATH.json``) and retrained on a mismatch; with ``path`` alone (no
    images) it is loaded as it is. Files are ``.keras`` archives, loaded with ``safe_mode=True`` (no code
    is run from them). ``epochs``: ``None`` trains 3 epochs on 10,000 images or more, 15 on fewer (seconds
    for 1,000). The classifier computes in float32 and training it leaves the caller's random state alone.
    """
    if (images is None) != (labels is None):
        raise ValueError("Pass both images and labels (or neither, to use the dataset's training split).")
    if dataset not in ("mnist", "fashion_mnist"):
        raise ValueError(f"dataset must be 'mnist' or 'fashion_mnist', got {dataset!r}.")
    if path is not None:
        path = Path(path)
        if path.suffix != ".keras":
            raise ValueError(f"The classifier is saved in Keras' format: path must end in .keras, got {path}.")
        if images is None and path.exists():
            return _check_float32(keras.models.load_model(path, safe_mode=True))
    name = "classifier"
    if images is None:
        if dataset == "mnist":
            source = data._resolve_source(source, folders_allowed=True)  # "keras", "sample" or a folder of IDX files
            name = {"keras": "mnist", "sample": "mnist-sample"}.get(source, f"mnist-{Path(source).resolve().name}")
            images, labels = data.load_mnist(source)
        else:
            name = "fashion_mnist"
            images, labels = data.load_fashion_mnist()
    images = data.check_images(images)
    labels = np.asarray(labels).reshape(-1)
    if epochs is None:
        epochs = 3 if len(images) >= 10_000 else 15
    fingerprint = training_fingerprint(images, labels, epochs, seed)
    path = path or default_classifier_path(f"{name}-{fingerprint[:16]}")
    record = path.with_name(path.name + ".json")
    if path.exists() and record.exists() and json.loads(record.read_text()).get("fingerprint") == fingerprint:
        return _check_float32(keras.models.load_model(path, safe_mode=True))
    classifier = train_domain_classifier(images, labels, epochs=epochs, seed=seed, verbose=verbose)
    replace_atomically(path, classifier.save)  # a run killed while saving leaves no half-written file to load
    replace_atomically(record, lambda temporary: Path(temporary).write_text(json.dumps(
        {"fingerprint": fingerprint, "images": len(images), "classes": int(labels.max()) + 1, "epochs": int(epochs),
         "seed": int(seed), "keras": keras.__version__}, indent=1)))
    return classifier


def _check_float32(classifier):
    """Measurements are made in float32: refuse a classifier whose layers compute in another dtype; returns it."""
    other = sorted({layer.compute_dtype for layer in classifier.layers if not isinstance(layer, layers.InputLayer)} - {"float32"})
    if other:
        raise ValueError(f"This classifier computes in {', '.join(other)}, which rounds what it measures: build it with "
                         "metrics.build_domain_classifier (always float32) or delete the file to retrain it.")
    return classifier


def classifier_outputs(classifier, images, batch_size=500):
    """Run the classifier once: returns ``(features, probabilities)``, float64 (N, D) and (N, classes)."""
    images = data.check_images(images, classifier.input_shape[1:])  # the classifier's own image shape
    _check_float32(classifier)
    both = keras.Model(classifier.input, [classifier.get_layer(FEATURE_LAYER).output, classifier.outputs[0]])
    # Plain calls on batches: no tf.function to trace, which predict() would redo for every new model.
    outputs = [both(images[start:start + int(batch_size)], training=False) for start in range(0, len(images), int(batch_size))]
    features = np.concatenate([keras.ops.convert_to_numpy(feature) for feature, _ in outputs])
    logits = np.concatenate([keras.ops.convert_to_numpy(logit) for _, logit in outputs]).astype(np.float64)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return features.astype(np.float64), probabilities


def predicted_classes(classifier, images):
    """The class the classifier finds most likely for each image (N, H, W, C) in [-1, 1]: integers (N,).

    Notebook 07 counts how often it is the class that was asked for; a histogram of it shows which classes
    a generator draws (real MNIST: about 10% each).
    """
    return classifier_outputs(classifier, images)[1].argmax(axis=1)


def class_histogram(classifier, images):
    """The share of ``images`` (N, H, W, C) in [-1, 1] the classifier puts in each class: floats (num_classes,) summing to 1.

    Real MNIST digits give about 0.1 each; a generator that collapsed onto a few digits gives a few large
    shares. :func:`effective_classes` sums it up in one number (notebook 09 plots both).
    """
    return np.bincount(predicted_classes(classifier, images), minlength=classifier.output_shape[-1]) / len(images)


def effective_classes(shares):
    """``exp(entropy)`` of class shares (num_classes,) summing to 1: 10.0 for ten equal shares, 1.0 for one class."""
    shares = np.asarray(shares, dtype=np.float64)
    if shares.ndim != 1 or len(shares) == 0 or not np.all(np.isfinite(shares)) or shares.min() < 0:
        raise ValueError(f"shares must be a 1-D array of non-negative finite numbers, one per class; got {shares!r}.")
    if not np.isclose(shares.sum(), 1.0, atol=1e-6):
        raise ValueError(f"shares must sum to 1 (they sum to {shares.sum():g}): pass class_histogram(...), "
                         "or divide counts by their total.")
    return float(np.exp(-np.sum(shares[shares > 0] * np.log(shares[shares > 0]))))


# --- The metrics, on features and probabilities ----------------------------------------------

def _check_features(features, name):
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"{name} must be an array shaped (N, feature_dim) with N >= 2, got shape {features.shape}.")
    if not np.all(np.isfinite(features)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return features


def symmetric_matrix_sqrt(matrix):
    """The square root of a symmetric positive semi-definite matrix, by eigendecomposition."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


def frechet_distance_from_statistics(mean_a, covariance_a, mean_b, covariance_b):
    """Fréchet distance between N(mean_a, covariance_a) and N(mean_b, covariance_b).

    ||mean_a - mean_b||^2 + trace(covariance_a + covariance_b - 2 (covariance_a covariance_b)^(1/2)),
    with trace((A B)^(1/2)) computed as trace((A^(1/2) B A^(1/2))^(1/2)), a symmetric matrix.
    """
    statistics = {"mean_a": mean_a, "covariance_a": covariance_a, "mean_b": mean_b, "covariance_b": covariance_b}
    statistics = {name: np.asarray(value, dtype=np.float64) for name, value in statistics.items()}
    mean_a, covariance_a, mean_b, covariance_b = statistics.values()
    dimensions = len(mean_a) if mean_a.ndim == 1 else -1
    shapes = {name: array.shape for name, array in statistics.items()}
    if list(shapes.values()) != [(dimensions,), (dimensions, dimensions)] * 2:
        raise ValueError(f"The statistics do not match: means must be shaped (D,) and covariances (D, D) with one D; "
                         f"got {shapes}.")
    for name, array in statistics.items():
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or infinite values.")
    sqrt_a = symmetric_matrix_sqrt(covariance_a)
    middle = sqrt_a @ covariance_b @ sqrt_a
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum()
    mean_difference = mean_a - mean_b
    distance = mean_difference @ mean_difference + np.trace(covariance_a) + np.trace(covariance_b) - 2 * trace_sqrt
    return float(max(distance, 0.0))


def frechet_distance(features_a, features_b):
    """Fréchet distance between Gaussians fitted to two feature sets (N_a, D) and (N_b, D).

    Each set needs more samples than feature dimensions (N > D), or its covariance is singular
    and the distance mostly measures the sample size.
    """
    features_a, features_b = _check_features(features_a, "features_a"), _check_features(features_b, "features_b")
    if features_a.shape[1] != features_b.shape[1]:
        raise ValueError(f"Feature sets differ in width: {features_a.shape[1]} vs {features_b.shape[1]}.")
    dimensions = features_a.shape[1]
    for name, features in (("first", features_a), ("second", features_b)):
        if len(features) <= dimensions:
            raise ValueError(f"The {name} set has {len(features)} samples for {dimensions} feature dimensions: "
                             f"FID needs more samples than dimensions (use well over {dimensions}, ideally thousands).")
    return frechet_distance_from_statistics(features_a.mean(axis=0), np.cov(features_a, rowvar=False),
                                            features_b.mean(axis=0), np.cov(features_b, rowvar=False))


def _unbiased_mmd2(features_a, features_b):
    """The unbiased squared MMD of features (m, D) and (n, D) with the kernel k(x, y) = (x.y / D + 1)^3."""
    dimensions = features_a.shape[1]
    kernel_aa, kernel_bb, kernel_ab = [(x @ y.T / dimensions + 1) ** 3 for x, y in
                                       ((features_a, features_a), (features_b, features_b), (features_a, features_b))]
    m, n = len(features_a), len(features_b)
    within_a = (kernel_aa.sum() - np.trace(kernel_aa)) / (m * (m - 1))
    within_b = (kernel_bb.sum() - np.trace(kernel_bb)) / (n * (n - 1))
    return within_a + within_b - 2 * kernel_ab.mean()


def kernel_distance(features_a, features_b, num_subsets=10, seed=0):
    """KID: the unbiased squared MMD with kernel k(x, y) = (x.y / D + 1)^3, and its standard error.

    Both sets are shuffled and cut into ``num_subsets`` disjoint blocks; returns
    ``(mean, standard_error)`` of the block estimates. Can be slightly negative when the
    sets match. Every block needs at least 2 samples from each set.
    """
    features_a, features_b = _check_features(features_a, "features_a"), _check_features(features_b, "features_b")
    if features_a.shape[1] != features_b.shape[1]:
        raise ValueError(f"Feature sets differ in width: {features_a.shape[1]} vs {features_b.shape[1]}.")
    num_subsets = int(num_subsets)
    smallest = min(len(features_a), len(features_b))
    if num_subsets < 2 or smallest < 2 * num_subsets:
        raise ValueError(f"KID with {num_subsets} subsets needs num_subsets >= 2 and at least {2 * num_subsets} "
                         f"samples per set, got {smallest}. Use fewer subsets or more images.")
    random = np.random.default_rng(seed)
    blocks_a, blocks_b = (np.array_split(random.permutation(features), num_subsets) for features in (features_a, features_b))
    estimates = np.array([_unbiased_mmd2(a, b) for a, b in zip(blocks_a, blocks_b)])
    return float(estimates.mean()), float(estimates.std(ddof=1) / np.sqrt(num_subsets))


def classifier_score(probabilities):
    """The Inception-score analogue exp(mean_x KL(p(y|x) || p(y))) of class probabilities (N, classes).

    1 when every image gets the same distribution; the number of classes at best.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or len(probabilities) == 0:
        raise ValueError(f"probabilities must be shaped (N, num_classes), got {probabilities.shape}.")
    if probabilities.min() < 0 or not np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("Each row of probabilities must be non-negative and sum to 1 (apply a softmax to logits).")
    marginal = probabilities.mean(axis=0, keepdims=True)
    eps = 1e-12
    kl = (probabilities * (np.log(probabilities + eps) - np.log(marginal + eps))).sum(axis=1)
    return float(np.exp(kl.mean()))


# --- Images in, numbers out ------------------------------------------------------------------

def evaluate_images(classifier, real_images, fake_images, kid_subsets=10):
    """FID, KID (with standard error) and classifier score of ``fake_images`` against ``real_images``.

    Both are float32 (N, H, W, C) in [-1, 1] of the classifier's input shape. Returns a dict with
    ``fid``, ``kid``, ``kid_se``, ``score`` (of the fakes) and ``num_real``, ``num_fake``.
    """
    real_features, _ = classifier_outputs(classifier, real_images)
    fake_features, fake_probabilities = classifier_outputs(classifier, fake_images)
    kid, kid_se = kernel_distance(real_features, fake_features, num_subsets=kid_subsets)
    return {"fid": frechet_distance(real_features, fake_features), "kid": kid, "kid_se": kid_se,
            "score": classifier_score(fake_probabilities), "num_real": len(real_features), "num_fake": len(fake_features)}


def generate_images(generator, num_images, seed=0, batch_size=500, noise="normal"):
    """``num_images`` images (N, H, W, C) in [-1, 1] from ``generator``, on noise drawn with ``seed``.

    ``noise``: ``"normal"`` (standard normal, notebooks 01-03 and 05) or ``"uniform"`` (in [-1, 1), the
    noise notebook 04's generator was trained on). Measure a generator on the noise it was trained on.
    """
    rng = np.random.default_rng(seed)
    shape = (int(num_images), generator.input_shape[-1])
    if noise not in ("normal", "uniform"):
        raise ValueError(f'noise must be "normal" or "uniform", got {noise!r}.')
    noise = (rng.standard_normal(shape) if noise == "normal" else rng.uniform(-1.0, 1.0, shape)).astype(np.float32)
    batches = [generator(noise[start:start + int(batch_size)], training=False) for start in range(0, len(noise), int(batch_size))]
    return np.clip(np.concatenate([keras.ops.convert_to_numpy(batch) for batch in batches]), -1.0, 1.0)
