"""Bad input fails early with a message that says what to do, raised by gan_utils, not deep inside TensorFlow."""

import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from gan_utils import callbacks, data, models, training


def raised_by_gan_utils(raised):
    """The error comes from gan_utils' own code, and hides any TensorFlow error it replaced."""
    assert Path(str(raised.traceback[-1].path)).parent.name == "gan_utils", raised.traceback[-1]  # also mutmut's copy
    error = raised.value
    assert error.__context__ is None or error.__suppress_context__
    return str(error)


def tiny_generator(latent_dim=8):
    return keras.Sequential([keras.Input((latent_dim,)), layers.Dense(28 * 28, activation="tanh"), layers.Reshape((28, 28, 1))],
                            name="tiny_generator")


def tiny_discriminator():
    return keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(1)], name="tiny_discriminator")


def tiny_gan(latent_dim=8):
    gan = training.GAN(tiny_generator(latent_dim), tiny_discriminator(), latent_dim=latent_dim)
    gan.compile(keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4))
    return gan


IMAGES = data.load_mnist("sample")[0][:64]
PIXELS = (IMAGES * 127.5 + 127.5).astype(np.uint8)

BAD_TRAINING_IMAGES = {
    "uint8 pixels": (PIXELS, "to_unit_range"),
    "[0, 255] floats": (PIXELS.astype("float32"), "got values from 0.0 to 255.0"),
    "[0, 1] floats": (PIXELS.astype("float32") / 255, "got values from 0.0 to 1.0"),
    "no channel axis": (IMAGES[..., 0], r"images\[..., None\]"),
    "no images": (IMAGES[:0], "empty"),
    "fewer images than a batch": (IMAGES[:4], "Only 4 images for batch_size=8"),
}


@pytest.mark.parametrize("name", BAD_TRAINING_IMAGES)
def test_the_training_dataset_refuses_badly_shaped_typed_or_scaled_images(name):
    images, advice = BAD_TRAINING_IMAGES[name]
    with pytest.raises(ValueError, match=advice) as raised:
        data.make_dataset(images, batch_size=8)
    raised_by_gan_utils(raised)


def test_good_images_make_a_dataset_that_trains():
    gan = tiny_gan()
    gan.fit(data.make_dataset(IMAGES, 16), epochs=1, verbose=0)
    assert int(gan.generator_optimizer.iterations) == 4


def test_check_images_names_the_fix_for_each_problem():
    for images, advice in ((IMAGES[..., 0], "channel axis"), (PIXELS, "to_unit_range"), (IMAGES * 2, r"\[-1, 1\]"), (IMAGES[:0], "empty")):
        with pytest.raises(ValueError, match=advice):
            data.check_images(images)


def test_checkpoint_of_a_different_latent_size_is_refused_clearly(tmp_path):
    callbacks.GANCheckpoint(tiny_gan(latent_dim=8), tmp_path).save(1)
    with pytest.raises(callbacks.CheckpointMismatchError, match="different architecture") as raised:
        callbacks.GANCheckpoint(tiny_gan(latent_dim=16), tmp_path).restore_latest()
    assert "delete" in raised_by_gan_utils(raised)


def test_a_checkpoint_of_networks_without_weights_is_refused_before_it_breaks_training(tmp_path):
    """Without the check, GANCheckpoint built the optimizer on no variables and the first step raised "Unknown variable"."""
    for unbuilt in ("generator", "discriminator"):
        generator = keras.Sequential([layers.Dense(28 * 28, activation="tanh"), layers.Reshape((28, 28, 1))], name="generator")
        discriminator = keras.Sequential([layers.Flatten(), layers.Dense(1)], name="discriminator")
        if unbuilt == "generator":
            discriminator.build((None, 28, 28, 1))
        else:
            generator.build((None, 8))
        gan = training.GAN(generator, discriminator, latent_dim=8)
        gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
        with pytest.raises(ValueError, match=f"{unbuilt} has no weights yet") as raised:
            callbacks.GANCheckpoint(gan, tmp_path)
        assert "keras.Input" in raised_by_gan_utils(raised)


def test_load_generator_loads_a_saved_generator_in_safe_mode(tmp_path):
    generator = tiny_generator()
    generator.save(tmp_path / "generator.keras")
    loaded = models.load_generator(tmp_path / "generator.keras", latent_dim=8, image_shape=(28, 28, 1))
    noise = np.ones((2, 8), "float32")
    np.testing.assert_array_equal(np.array(loaded(noise)), np.array(generator(noise)))


def test_load_generator_refuses_a_discriminator(tmp_path):
    tiny_discriminator().save(tmp_path / "discriminator.keras")
    with pytest.raises(ValueError, match="not a generator") as raised:
        models.load_generator(tmp_path / "discriminator.keras")
    assert "(None, 28, 28, 1) -> (None, 1)" in raised_by_gan_utils(raised)


def test_load_generator_refuses_the_wrong_latent_size(tmp_path):
    tiny_generator().save(tmp_path / "generator.keras")
    with pytest.raises(ValueError, match="noise of length 8, not latent_dim=100"):
        models.load_generator(tmp_path / "generator.keras", latent_dim=100)


def test_load_generator_refuses_code_that_safe_mode_would_run(tmp_path):
    sneaky = keras.Sequential([keras.Input((8,)), layers.Lambda(lambda noise: noise * 2), layers.Dense(28 * 28),
                               layers.Reshape((28, 28, 1))])
    sneaky.save(tmp_path / "sneaky.keras")
    with pytest.raises(ValueError, match="safe_mode") as raised:
        models.load_generator(tmp_path / "sneaky.keras")
    raised_by_gan_utils(raised)


def test_load_generator_explains_missing_damaged_and_non_keras_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="generator.save"):
        models.load_generator(tmp_path / "missing.keras")
    (tmp_path / "notes.keras").write_text("not a zip file")
    with pytest.raises(ValueError, match="Could not load") as raised:
        models.load_generator(tmp_path / "notes.keras")
    raised_by_gan_utils(raised)
    (tmp_path / "generator.h5").write_bytes(b"\x89HDF")
    with pytest.raises(ValueError, match="not a .keras file"):
        models.load_generator(tmp_path / "generator.h5")


LONG_LINE = "a TensorFlow error with a long first line " * 10  # 420 characters


def test_restore_quotes_at_most_200_characters_of_the_first_line_of_the_error_it_replaces(tmp_path, monkeypatch):
    """What a user reads when the newest checkpoint is damaged, or is of another architecture."""
    checkpoint = callbacks.GANCheckpoint(tiny_gan(), tmp_path)
    for epoch in (1, 2):
        checkpoint.save(epoch)
    original_restore = tf.train.Checkpoint.restore

    def restoring_ckpt_2_raises(error):
        def restore(self, path, *args, **kwargs):
            if str(path).endswith("ckpt-2"):
                raise error
            return original_restore(self, path, *args, **kwargs)
        monkeypatch.setattr(tf.train.Checkpoint, "restore", restore)

    restoring_ckpt_2_raises(IndexError(LONG_LINE + "\nthe second line"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert callbacks.GANCheckpoint(tiny_gan(), tmp_path).restore_latest() == 1
    assert [str(warning.message) for warning in caught if "checkpoint" in str(warning.message)] == [
        f"Skipping the damaged checkpoint {tmp_path / 'ckpt-2'} (IndexError: {LONG_LINE[:200]}); trying the one before it."]
    restoring_ckpt_2_raises(ValueError(LONG_LINE + "\nthe second line"))
    with pytest.raises(callbacks.CheckpointMismatchError) as refused:
        callbacks.GANCheckpoint(tiny_gan(), tmp_path).restore_latest()
    assert str(refused.value) == (
        f"The checkpoint {tmp_path / 'ckpt-2'} does not fit this GAN: it was saved from a different architecture "
        f"({LONG_LINE[:200]}). Use another output folder, or delete {tmp_path} to start training from scratch.")


def test_a_damaged_checkpoint_is_skipped_for_the_one_before_it(tmp_path):
    checkpoint = callbacks.GANCheckpoint(tiny_gan(), tmp_path)
    for epoch in (1, 2):
        checkpoint.save(epoch)
    data_file = next(tmp_path.glob("ckpt-2.data-*"))
    data_file.write_bytes(data_file.read_bytes()[:100])  # e.g. a full disk
    with pytest.warns(UserWarning, match="Skipping the damaged checkpoint .*ckpt-2"):
        assert callbacks.GANCheckpoint(tiny_gan(), tmp_path).restore_latest() == 1

    for index_file in tmp_path.glob("ckpt-*.index"):
        index_file.write_bytes(b"garbage")
    with pytest.warns(UserWarning), pytest.raises(callbacks.CheckpointDamagedError, match="Delete") as raised:
        callbacks.GANCheckpoint(tiny_gan(), tmp_path).restore_latest()
    raised_by_gan_utils(raised)
