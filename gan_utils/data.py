"""Datasets as float32 images in [-1, 1], and the tf.data pipeline that feeds training.

Taught in notebook 02 ("Load and prepare the data"). Images are always shaped
``(N, height, width, channels)``, float32, scaled from [0, 255] to [-1, 1] to match the
generator's ``tanh`` output.
"""

import os
from pathlib import Path

import numpy as np
import tensorflow as tf

SAMPLE_PATH = Path(__file__).parent / "data" / "mnist_sample.npz"
DATA_SOURCE_ENV = "GAN_DATA"  # "sample" = use the shipped digits; unset or "keras" = full dataset
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
        raise ValueError(
            f"Expected images shaped (N, height, width, channels), got shape {images.shape}. "
            "Add a channel axis with images[..., None] for grayscale."
        )
    if images.shape[0] == 0:
        raise ValueError("Got an empty set of images: check the data folder or the filter you applied.")
    if image_shape is not None and tuple(images.shape[1:]) != tuple(image_shape):
        raise ValueError(f"Expected images of shape {tuple(image_shape)}, got {images.shape[1:]}.")
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"Expected float images in [-1, 1], got dtype {images.dtype}. "
            "Scale uint8 images with gan_utils.data.to_unit_range(images)."
        )
    low, high = float(images.min()), float(images.max())
    if not (np.isfinite(low) and np.isfinite(high)) or low < -1.0 or high > 1.0:
        raise ValueError(
            f"Expected images in [-1, 1], got values from {low} to {high}. "
            "Scale [0, 255] images with (x - 127.5) / 127.5, e.g. gan_utils.data.to_unit_range."
        )
    return images.astype(np.float32, copy=False)


def load_mnist_sample():
    """The 1,000 real MNIST training digits (100 per class) that ship inside gan_utils.

    Returns ``(images, labels)``: float32 (1000, 28, 28, 1) in [-1, 1] and uint8 (1000,).
    Source and licence: ``gan_utils/data/README.md``.
    """
    with np.load(SAMPLE_PATH, allow_pickle=False) as sample:
        return to_unit_range(sample["images"]), sample["labels"]


def _resolve_source(source):
    source = source or os.environ.get(DATA_SOURCE_ENV, "keras")
    if source not in ("keras", "sample"):
        raise ValueError(f"source must be 'keras' or 'sample', got {source!r} (from ${DATA_SOURCE_ENV}?).")
    return source


def keras_cache_dir() -> Path:
    """The folder where ``keras.datasets`` looks for downloaded files (``$KERAS_HOME`` or ~/.keras)."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def _download_error(name, subfolder, files, error, hint="") -> DatasetUnavailableError:
    folder = keras_cache_dir() / subfolder
    return DatasetUnavailableError(
        f"Could not download {name} ({type(error).__name__}: {error}).\n"
        f"Offline? Copy {', '.join(files)} from {KERAS_DATASETS_URL}{subfolder} "
        f"into {folder} and run again.{hint}"
    )


def load_mnist(source=None):
    """MNIST training digits as ``(images, labels)``: float32 (N, 28, 28, 1) in [-1, 1], uint8 (N,).

    ``source``: ``"keras"`` (the 60,000 training digits via ``keras.datasets``, downloaded once
    to :func:`keras_cache_dir`) or ``"sample"`` (the 1,000 shipped digits). ``None`` reads the
    ``GAN_DATA`` environment variable, default ``"keras"``. A failed download raises
    :class:`DatasetUnavailableError` saying where to put the file; there is no silent fallback.
    """
    if _resolve_source(source) == "sample":
        return load_mnist_sample()
    import keras

    try:
        (images, labels), _ = keras.datasets.mnist.load_data()
    except Exception as error:  # keras raises a bare Exception for URL failures
        hint = f" Or set {DATA_SOURCE_ENV}=sample (or pass source='sample') to use the 1,000 digits shipped with gan_utils."
        raise _download_error("MNIST", "", ["mnist.npz"], error, hint) from None
    return to_unit_range(images), labels


def load_fashion_mnist():
    """Fashion-MNIST training images as ``(images, labels)``: float32 (60000, 28, 28, 1) in [-1, 1], uint8."""
    import keras

    try:
        (images, labels), _ = keras.datasets.fashion_mnist.load_data()
    except Exception as error:
        files = ["train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"]
        raise _download_error("Fashion-MNIST", "fashion-mnist/", files, error) from None
    return to_unit_range(images), labels


def make_dataset(images, batch_size, shuffle=True, seed=None, cache=True):
    """A ``tf.data.Dataset`` of image batches: cache, shuffle, batch, prefetch.

    ``images``: float32 (N, H, W, C) in [-1, 1], checked by :func:`check_images`.
    Batches are (batch_size, H, W, C); the last, smaller batch is dropped so every step
    sees the same shape (one trace, and equal-sized real and fake batches).
    """
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}.")
    images = check_images(images)
    if len(images) < batch_size:
        raise ValueError(
            f"Only {len(images)} images for batch_size={batch_size}: every batch would be empty. "
            "Use a smaller batch_size or more data."
        )
    dataset = tf.data.Dataset.from_tensor_slices(images)
    if cache:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(min(len(images), 60_000), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(int(batch_size), drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def check_training_data(images_or_dataset, image_shape=None):
    """Raise ``ValueError`` unless ``GAN.fit`` would get float images in [-1, 1] shaped (batch, H, W, C).

    A NumPy array is checked whole by :func:`check_images`. A ``tf.data.Dataset`` must yield image
    batches only (not (image, label) pairs) with the right dtype and shape, and its first batch is
    checked for the [-1, 1] range. ``image_shape`` (H, W, C) is what the discriminator takes. Other
    inputs (generators, distributed datasets) pass unchecked. Called by ``GAN.fit`` (notebook 02).
    """
    if isinstance(images_or_dataset, np.ndarray):
        check_images(images_or_dataset, image_shape)
        return
    if not isinstance(images_or_dataset, tf.data.Dataset):
        return
    spec = images_or_dataset.element_spec
    if not isinstance(spec, tf.TensorSpec):
        raise ValueError(
            f"GAN.fit expects a dataset of image batches only, got elements {spec}. "
            "Drop the labels first, e.g. dataset.map(lambda images, labels: images)."
        )
    wrong_size = image_shape is not None and spec.shape.rank == 4 and any(
        size is not None and size != expected for size, expected in zip(spec.shape[1:], image_shape))
    if wrong_size:
        raise ValueError(
            f"GAN.fit got images shaped {tuple(spec.shape[1:])}, but the discriminator takes {tuple(image_shape)}. "
            "Resize the images (e.g. with keras.layers.Resizing in dataset.map) or build the discriminator "
            "for this image shape."
        )
    if spec.shape.rank not in (None, 4):
        raise ValueError(
            f"GAN.fit expects batches of images shaped (batch, {', '.join(map(str, image_shape or ('H', 'W', 'C')))}), "
            f"got {tuple(spec.shape)}. Batch the dataset (gan_utils.data.make_dataset does) and add a channel "
            "axis for grayscale images."
        )
    if not spec.dtype.is_floating:
        raise ValueError(
            f"GAN.fit expects float images in [-1, 1], got dtype {spec.dtype.name}. "
            "Scale [0, 255] pixels with (images - 127.5) / 127.5, e.g. gan_utils.data.to_unit_range."
        )
    for batch in images_or_dataset.take(1):
        low, high = float(tf.reduce_min(batch)), float(tf.reduce_max(batch))
        if not (np.isfinite(low) and np.isfinite(high)) or low < -1.0 or high > 1.0:
            raise ValueError(
                f"GAN.fit expects images in [-1, 1] (the generator's tanh range), but the first batch has values "
                f"from {low} to {high}. Scale [0, 255] pixels with (images - 127.5) / 127.5, "
                "e.g. gan_utils.data.to_unit_range, or build the dataset with gan_utils.data.make_dataset."
            )
