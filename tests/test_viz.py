import imageio.v3 as iio
import numpy as np
import pytest

from gan_utils import viz


def test_grid_puts_each_image_in_its_place():
    # Five 2x3 images, each a constant value; with 2 columns the grid is 3 rows x 2 columns.
    values = np.linspace(-1, 1, 5, dtype=np.float32)
    images = np.ones((5, 2, 3, 1), np.float32) * values[:, None, None, None]
    grid = viz.image_grid(images, n_cols=2)
    assert grid.shape == (6, 6, 1) and grid.dtype == np.uint8
    for index, value in enumerate(values):
        row, col = divmod(index, 2)
        cell = grid[row * 2:(row + 1) * 2, col * 3:(col + 1) * 3]
        assert np.all(cell == np.round((value + 1) * 127.5))
    assert np.all(grid[4:6, 3:6] == 0)  # the sixth cell is empty and black


def test_grid_keeps_rgb_and_defaults_to_a_square():
    images = np.zeros((9, 4, 4, 3), np.float32)
    images[4, :, :, 0] = 1.0  # the middle image is red
    grid = viz.image_grid(images)
    assert grid.shape == (12, 12, 3)
    assert np.all(grid[4:8, 4:8, 0] == 255) and np.all(grid[4:8, 4:8, 1:] == 128)
    assert np.all(grid[:4, :4] == 128)


def test_grid_rejects_images_without_a_channel_axis():
    with pytest.raises(ValueError, match="1 or 3"):
        viz.image_grid(np.zeros((4, 28, 28)))


def test_gif_has_one_frame_per_png_at_the_grid_size(tmp_path):
    frames = []
    for epoch in range(4):
        images = np.full((4, 28, 28, 1), -1 + epoch * 0.5, np.float32)
        frames.append(viz.save_image_grid(images, tmp_path / f"epoch_{epoch + 1:04d}.png"))
    gif_path = viz.write_gif(frames, tmp_path / "training.gif")
    gif = iio.imread(gif_path, index=None)
    assert gif.shape[0] == 4 and gif.shape[1:3] == (56, 56)


def test_gif_without_frames_says_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="SampleGridCallback"):
        viz.write_gif([], tmp_path / "empty.gif")


def test_history_plot_has_loss_and_score_panels():
    figure = viz.plot_history({"d_loss": [1.3, 1.2], "g_loss": [0.7, 0.8], "real_score": [0.6, 0.6], "fake_score": [0.4, 0.45]})
    titles = [axis.get_title() for axis in figure.axes]
    assert titles == ["Losses", "Discriminator outputs"]
    assert len(figure.axes[0].lines) == 2
