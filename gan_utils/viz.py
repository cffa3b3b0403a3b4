"""Pictures of training: image grids, loss and D-output curves, and the GIF of all epochs.

Taught in notebook 02. Images come in as float arrays (N, H, W, C) in [-1, 1] with C = 1 or 3.
"""

import math
from pathlib import Path

import imageio.v3 as iio
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import numpy as np


def image_grid(images, n_cols=None):
    """Tile images (N, H, W, C) in [-1, 1] into one uint8 image (rows*H, cols*W, C) in [0, 255].

    Image ``i`` lands at row ``i // n_cols``, column ``i % n_cols``; unused cells stay black.
    ``n_cols`` defaults to ceil(sqrt(N)), a square-ish grid.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or len(images) == 0:
        raise ValueError(f"Expected images shaped (N, H, W, 1 or 3) with N > 0, got {images.shape}.")
    count, height, width, channels = images.shape
    n_cols = int(n_cols or math.ceil(math.sqrt(count)))
    n_rows = math.ceil(count / n_cols)
    pixels = np.round((np.clip(images, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    grid = np.zeros((n_rows * height, n_cols * width, channels), dtype=np.uint8)
    for index, image in enumerate(pixels):
        row, col = divmod(index, n_cols)
        grid[row * height:(row + 1) * height, col * width:(col + 1) * width] = image
    return grid


def save_image_grid(images, path, n_cols=None):
    """Save :func:`image_grid` of ``images`` as a PNG at ``path`` (folders created); returns the Path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid = image_grid(images, n_cols)
    iio.imwrite(path, grid[..., 0] if grid.shape[-1] == 1 else grid)
    return path


def plot_image_grid(images, n_cols=None, title=None, size=4.0):
    """Show :func:`image_grid` of ``images`` with matplotlib; returns the Figure."""
    grid = image_grid(images, n_cols)
    figure, axis = plt.subplots(figsize=(size, size * grid.shape[0] / grid.shape[1]))
    axis.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0, vmax=255)
    axis.set_axis_off()
    axis.set_title(title or "")
    return figure


def plot_history(history):
    """Loss curves (d_loss, g_loss) and discriminator outputs (real_score, fake_score) per epoch.

    ``history``: a ``keras.callbacks.History`` or its ``.history`` dict. Returns the Figure.
    """
    logs = getattr(history, "history", history)
    epochs = np.arange(1, len(logs["d_loss"]) + 1)
    figure, (loss_axis, score_axis) = plt.subplots(1, 2, figsize=(10, 3.5))
    for name in ("d_loss", "g_loss"):
        loss_axis.plot(epochs, logs[name], marker="o", label=name)
    loss_axis.set(xlabel="epoch", ylabel="binary cross-entropy", title="Losses")
    for name, label in (("real_score", "D(x), real"), ("fake_score", "D(G(z)), fake")):
        if name in logs:
            score_axis.plot(epochs, logs[name], marker="o", label=label)
    score_axis.axhline(0.5, color="gray", linestyle=":", label="0.5: can't tell")
    score_axis.set(xlabel="epoch", ylabel="mean probability of 'real'", ylim=(0, 1), title="Discriminator outputs")
    for axis in (loss_axis, score_axis):
        axis.legend()
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    return figure


def write_gif(frame_paths, gif_path, frame_seconds=0.5):
    """Write the PNG frames, in the given order, into an animated GIF that loops; returns its Path."""
    frame_paths = [Path(path) for path in frame_paths]
    if not frame_paths:
        raise ValueError("No frames to write: train for at least one epoch with SampleGridCallback first.")
    frames = np.stack([iio.imread(path) for path in frame_paths])
    gif_path = Path(gif_path)
    gif_path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(gif_path, frames, duration=int(frame_seconds * 1000), loop=0)
    return gif_path


def show_gif(gif_path):
    """An ``IPython.display.Image`` of the GIF, which Jupyter shows animated when it is a cell's result."""
    from IPython.display import Image

    return Image(filename=str(gif_path))
