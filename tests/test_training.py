import warnings

import keras
import numpy as np
import pytest

from gan_utils import data, models, training

BATCH = 8


def make_gan(generator_lr=1e-3, discriminator_lr=1e-3, **compile_kwargs):
    keras.utils.set_random_seed(0)
    gan = training.GAN(models.build_dcgan_generator(), models.build_dcgan_discriminator(), seed=0)
    gan.compile(keras.optimizers.Adam(generator_lr), keras.optimizers.Adam(discriminator_lr), **compile_kwargs)
    return gan


def real_batches(count=1):
    images, _ = data.load_mnist_sample()
    return data.make_dataset(images[: BATCH * count], BATCH, shuffle=False)


def weights(model):
    return [np.array(variable) for variable in model.trainable_variables]


def changed(before, model):
    return [not np.array_equal(old, new) for old, new in zip(before, weights(model))]


def test_one_step_updates_both_networks_and_reports_the_four_numbers():
    gan = make_gan()
    g_before, d_before = weights(gan.generator), weights(gan.discriminator)
    history = gan.fit(real_batches(), epochs=1, verbose=0, shuffle=False)
    assert all(changed(g_before, gan.generator)) and all(changed(d_before, gan.discriminator))
    assert set(history.history) == {"d_loss", "g_loss", "real_score", "fake_score"}
    assert all(np.isfinite(values[0]) for values in history.history.values())
    assert 0 < history.history["real_score"][0] < 1 and 0 < history.history["fake_score"][0] < 1


def test_generator_update_leaves_discriminator_untouched():
    gan = make_gan(discriminator_lr=0.0)  # only the generator's update can move anything
    d_before, g_before = weights(gan.discriminator), weights(gan.generator)
    gan.fit(real_batches(), epochs=1, verbose=0, shuffle=False)
    assert not any(changed(d_before, gan.discriminator))
    assert all(changed(g_before, gan.generator))


def test_discriminator_update_leaves_generator_untouched():
    gan = make_gan(generator_lr=0.0)
    g_before, d_before = weights(gan.generator), weights(gan.discriminator)
    gan.fit(real_batches(), epochs=1, verbose=0, shuffle=False)
    assert not any(changed(g_before, gan.generator))
    assert all(changed(d_before, gan.discriminator))


@pytest.mark.parametrize("jit_compile", [False, True])
def test_fit_works_with_steps_per_execution_and_jit_compile(jit_compile):
    gan = make_gan(steps_per_execution=2, jit_compile=jit_compile)
    assert gan.jit_compile is jit_compile  # Keras falls back to no XLA, with only a warning, when it can't use it
    history = gan.fit(real_batches(count=4), epochs=2, verbose=0, shuffle=False)
    assert gan.generator_optimizer.iterations.numpy() == 8  # 4 batches x 2 epochs, none skipped
    assert all(np.isfinite(value) for values in history.history.values() for value in values)


def test_call_generates_images_from_noise():
    gan = make_gan()
    images = gan(gan.sample_noise(3))
    assert tuple(images.shape) == (3, 28, 28, 1)


def test_fit_on_a_dataset_does_not_warn_about_keras_shuffle():
    gan = make_gan()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gan.fit(real_batches(), epochs=1, verbose=0)  # shuffle left at Keras' default
    assert not [warning for warning in caught if "shuffle" in str(warning.message)]
    assert gan.generator_optimizer.iterations.numpy() == 1
