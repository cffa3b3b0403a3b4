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


def _load_shipped(path):
    with np.load(path, allow_pickle=False) as sample:
        return to_unit_range(sample["images"]), sample["labels"]


def load_mnist_sample():
    """The 1,000 real MNIST training digits (100 per class) that ship inside gan_utils.

    Returns ``(images, labels)``: float32 (1000, 28, 28, 1) in [-1, 1] and uint8 (1000,).
    Source and licence: ``gan_utils/data/README.md``.
    """
    return _load_shipped(SAMPLE_PATH)


def load_fashion_mnist_sample():
    """The 1,000 real Fashion-MNIST images (100 per class) that ship inside gan_utils (notebook 03 offline).

    Returns ``(images, labels)``: float32 (1000, 28, 28, 1) in [-1, 1] and uint8 (1000,); label ``i`` is
    ``FASHION_MNIST_CLASS_NAMES[i]``. Source and licence: ``gan_utils/data/README.md``.
    """
    return _load_shipped(FASHION_SAMPLE_PATH)


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


FASHION_MNIST_CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # label i is FASHION_MNIST_CLASS_NAMES[i], as in the dataset's documentation


def load_fashion_mnist(source="keras"):
    """Fashion-MNIST training images as ``(images, labels)``: float32 (N, 28, 28, 1) in [-1, 1], uint8 (N,).

    ``source="keras"`` (the default): the 60,000 real training images via ``keras.datasets``; a failed
    download raises :class:`DatasetUnavailableError` saying where to put the four files.
    ``source="sample"``: the 1,000 real images shipped with gan_utils (:func:`load_fashion_mnist_sample`).
    ``None`` reads ``GAN_DATA``. Notebook 03 passes the ``GAN_DATA`` switch and says which one it trains on.
    """
    if _resolve_source(source) == "sample":
        return load_fashion_mnist_sample()
    import keras

    try:
        (images, labels), _ = keras.datasets.fashion_mnist.load_data()
    except Exception as error:
        files = ["train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"]
        hint = f" Or set {DATA_SOURCE_ENV}=sample (or pass source='sample') to use the 1,000 images shipped with gan_utils."
        raise _download_error("Fashion-MNIST", "fashion-mnist/", files, error, hint) from None
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


# --- Image folders (notebook 05: CelebA) -------------------------------------------------------------

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
CELEBA_CROP_SIZE = 108  # the aligned CelebA images are 178x218; their central 108x108 square is the face
CELEBA_URLS = (
    "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html (img_align_celeba.zip, under 'Align&Cropped Images')",
    "https://www.kaggle.com/datasets/jessicali9530/celeba-dataset (the same images)",
)


class ImageFolderError(ValueError):
    """A data folder is missing, empty, or holds no readable image."""


def _folder_advice(folder):
    return (
        f"Download the aligned CelebA images from {CELEBA_URLS[0]} or {CELEBA_URLS[1]}, unzip them so that "
        f"the .jpg files are in {folder} (subfolders are fine), or point GAN_CELEBA_DIR at the folder or at "
        "img_align_celeba.zip."
    )


def find_image_files(folder):
    """Sorted paths of the image files (.jpg, .jpeg, .png, .bmp, .gif) in ``folder`` and its subfolders.

    ``folder`` may also be a ``.zip`` archive: it is unpacked once, beside itself, into a folder of the
    same name. Raises :class:`ImageFolderError` saying what to do when the folder is missing or has no
    image files (notebook 05).
    """
    folder = Path(folder).expanduser()
    if folder.is_file() and folder.suffix.lower() == ".zip":
        import shutil

        destination = folder.with_suffix("")
        if not destination.is_dir():
            print(f"Unpacking {folder} into {destination} (once) ...")
            shutil.unpack_archive(str(folder), str(destination))
        folder = destination
    if folder.is_file():
        raise ImageFolderError(f"{folder} is a file, not a folder of images (or a .zip of them). {_folder_advice(folder.parent)}")
    if not folder.is_dir():
        raise ImageFolderError(f"The data folder {folder} does not exist. {_folder_advice(folder)}")
    paths = sorted(path for path in folder.rglob("*") if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file())
    if not paths:
        raise ImageFolderError(f"The data folder {folder} has no image files ({', '.join(IMAGE_SUFFIXES)}). "
                               f"{_folder_advice(folder)}")
    return paths


def decode_face(image_bytes, image_size=28, crop_size=CELEBA_CROP_SIZE):
    """Encoded JPEG/PNG/BMP/GIF bytes -> uint8 tensor (image_size, image_size, 3): the article's face crop.

    Takes the central ``crop_size`` square (or the largest central square a smaller image has), then
    resizes it to ``image_size`` (bilinear), as the article's helper does. Grayscale becomes RGB and an
    alpha channel is dropped. Raises TensorFlow's ``InvalidArgumentError`` for bytes that are not an image.
    """
    image = tf.io.decode_image(image_bytes, channels=3, expand_animations=False)
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    side = tf.minimum(crop_size, tf.minimum(height, width))
    image = tf.image.crop_to_bounding_box(image, (height - side) // 2, (width - side) // 2, side, side)
    image = tf.image.resize(image, (image_size, image_size), method="bilinear", antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)


class FaceFolder:
    """The images of a folder as a ``tf.data`` pipeline of faces, plus what could not be read.

    Built by :func:`load_face_folder`. ``dataset`` yields single images, float32 (image_size, image_size, 3)
    in [-1, 1], decoded in parallel once and then served from a memory cache; batch it yourself.
    ``count`` images were read; ``skipped`` lists the files that were corrupt or unreadable.
    """

    def __init__(self, folder, paths, dataset, read_indices):
        self.folder = Path(folder)
        self.paths = paths
        self.dataset = dataset
        self.count = len(read_indices)
        read = set(read_indices)
        self.skipped = [path for index, path in enumerate(paths) if index not in read]

    def batches(self, batch_size, seed=None):
        """The faces shuffled and cut into batches (batch_size, H, W, 3), the last partial one dropped, prefetched.

        Raises ``ValueError`` when there are fewer faces than ``batch_size``: every batch would be empty.
        """
        if self.count < int(batch_size):
            raise ValueError(f"Only {self.count} faces were read from {self.folder}, fewer than batch_size={batch_size}: "
                             "every batch would be empty. Use a smaller BATCH_SIZE or a folder with more images.")
        return (self.dataset.shuffle(min(self.count, 20_000), seed=seed)
                .batch(int(batch_size), drop_remainder=True).prefetch(tf.data.AUTOTUNE))

    def summary(self):
        """One line (two with skipped files) for the notebook: how many images, how many skipped and which."""
        line = f"{self.count:,} images read from {self.folder}"
        if not self.skipped:
            return line + "; none skipped."
        names = ", ".join(path.name for path in self.skipped[:5]) + (" ..." if len(self.skipped) > 5 else "")
        return line + f"; skipped {len(self.skipped):,} corrupt or unreadable file(s): {names}"


def load_face_folder(folder, image_size=28, crop_size=CELEBA_CROP_SIZE, limit=None):
    """Read a folder of face images (CelebA aligned, or your own) into a :class:`FaceFolder` (notebook 05).

    Every file is read and decoded with :func:`decode_face` in parallel (``tf.data``, ``AUTOTUNE``); a file
    that fails (corrupt, truncated, not an image, unreadable) is skipped and counted instead of stopping
    training, and the decoded faces (uint8, 28x28x3 = 2.4 kB each, 0.5 GB for all of CelebA) are cached in
    memory, so this first pass is the only decoding. ``limit`` keeps the first ``limit`` files (sorted).
    Raises :class:`ImageFolderError` with what to do if the folder is missing, empty, or has no readable image.
    """
    if int(image_size) < 1 or int(crop_size) < 1:
        raise ValueError(f"image_size and crop_size must be positive, got {image_size} and {crop_size}.")
    if limit is not None and int(limit) < 1:
        raise ValueError(f"limit must be a positive number of files (or None for all), got {limit}.")
    paths = find_image_files(folder)
    if limit is not None:
        paths = paths[: int(limit)]

    def read(index, path):
        return index, decode_face(tf.io.read_file(path), image_size, crop_size)

    files = tf.data.Dataset.from_tensor_slices((tf.range(len(paths)), [str(path) for path in paths]))
    faces = files.map(read, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors().cache()
    read_indices = []
    for indices, _ in faces.batch(1024):  # one pass: decodes every file and fills the cache
        read_indices.extend(indices.numpy().tolist())
    if not read_indices:
        raise ImageFolderError(
            f"None of the {len(paths)} image files in {folder} could be read: all are corrupt or not images "
            f"(first: {paths[0].name}). {_folder_advice(folder)}"
        )
    dataset = faces.map(lambda index, face: (tf.cast(face, tf.float32) - 127.5) / 127.5,
                        num_parallel_calls=tf.data.AUTOTUNE)
    return FaceFolder(folder, paths, dataset, read_indices)
