import keras
import numpy as np
import pytest

from gan_utils import callbacks, data, models, training


def compiled_gan(generator=None, discriminator=None):
    gan = training.GAN(generator or models.build_dcgan_generator(), discriminator or models.build_dcgan_discriminator(), seed=0)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    return gan


def tiny_dataset(batches=2):
    images, _ = data.load_mnist_sample()
    return data.make_dataset(images[: 8 * batches], 8, shuffle=False)


def test_restored_checkpoint_gives_bit_identical_generator_output(tmp_path):
    keras.utils.set_random_seed(1)
    gan = compiled_gan()
    gan.fit(tiny_dataset(), epochs=1, verbose=0, shuffle=False)
    checkpoint = callbacks.GANCheckpoint(gan, tmp_path)
    checkpoint.save(1)
    noise = np.random.default_rng(0).normal(size=(4, 100)).astype("float32")
    expected = np.array(gan.generator(noise, training=False))

    restored = compiled_gan()
    assert not np.array_equal(np.array(restored.generator(noise, training=False)), expected)
    restored_checkpoint = callbacks.GANCheckpoint(restored, tmp_path)
    assert restored_checkpoint.restore_latest() == 1
    np.testing.assert_array_equal(np.array(restored.generator(noise, training=False)), expected)
    assert restored.generator_optimizer.iterations.numpy() == gan.generator_optimizer.iterations.numpy() == 2


def test_restore_from_an_empty_folder_starts_at_epoch_zero(tmp_path):
    assert callbacks.GANCheckpoint(compiled_gan(), tmp_path / "none-yet").restore_latest() == 0


def test_checkpoint_of_another_architecture_is_refused_clearly(tmp_path):
    callbacks.GANCheckpoint(compiled_gan(), tmp_path).save(1)
    small_generator = keras.Sequential([keras.Input((100,)), keras.layers.Dense(28 * 28), keras.layers.Reshape((28, 28, 1))])
    other = compiled_gan(generator=small_generator)
    with pytest.raises(callbacks.CheckpointMismatchError, match="different architecture"):
        callbacks.GANCheckpoint(other, tmp_path).restore_latest()


def test_training_saves_a_frame_per_epoch_and_checkpoints_every_n_and_at_the_end(tmp_path):
    gan = compiled_gan()
    checkpoint = callbacks.GANCheckpoint(gan, tmp_path / "checkpoints")
    grids = callbacks.SampleGridCallback(np.zeros((4, 100), "float32"), tmp_path / "frames", show=False)
    saves = callbacks.CheckpointCallback(checkpoint, every_n_epochs=2)
    gan.fit(tiny_dataset(1), epochs=3, verbose=0, shuffle=False, callbacks=[grids, saves])
    assert sorted(path.name for path in (tmp_path / "frames").iterdir()) == ["epoch_0001.png", "epoch_0002.png", "epoch_0003.png"]
    assert [path.rsplit("-", 1)[1] for path in checkpoint.manager.checkpoints] == ["2", "3"]


def test_training_resumes_from_the_latest_checkpoint(tmp_path):
    gan = compiled_gan()
    checkpoint = callbacks.GANCheckpoint(gan, tmp_path)
    gan.fit(tiny_dataset(1), epochs=2, verbose=0, shuffle=False, callbacks=[callbacks.CheckpointCallback(checkpoint, 1)])

    resumed = compiled_gan()
    resumed_checkpoint = callbacks.GANCheckpoint(resumed, tmp_path)
    initial_epoch = resumed_checkpoint.restore_latest()
    history = resumed.fit(tiny_dataset(1), epochs=3, initial_epoch=initial_epoch, verbose=0, shuffle=False)
    assert initial_epoch == 2 and history.epoch == [2]
    assert resumed.generator_optimizer.iterations.numpy() == 3


def test_checkpoint_callback_rejects_a_bad_interval(tmp_path):
    with pytest.raises(ValueError, match="every_n_epochs"):
        callbacks.CheckpointCallback(callbacks.GANCheckpoint(compiled_gan(), tmp_path), every_n_epochs=0)
