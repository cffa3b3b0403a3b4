"""GAN(discriminator_steps=k): k discriminator updates per generator update (notebook 01)."""

import keras
import numpy as np
import pytest

from gan_utils import data, models, training

BATCH = 8


def mlp_gan(seed=0, **gan_kwargs):
    keras.utils.set_random_seed(seed)
    gan = training.GAN(models.build_mlp_generator(), models.build_mlp_discriminator(), from_logits=False,
                       seed=seed, **gan_kwargs)
    gan.compile(keras.optimizers.Adam(2e-4), keras.optimizers.Adam(2e-4))
    return gan


def batches(count):
    images, _ = data.load_mnist_sample()
    return data.make_dataset(images[: BATCH * count], BATCH, shuffle=False)


def test_k_equal_to_two_makes_two_discriminator_updates_per_generator_update():
    gan = mlp_gan(discriminator_steps=2)
    history = gan.fit(batches(3), epochs=2, verbose=0, shuffle=False)
    assert int(gan.generator_optimizer.iterations.numpy()) == 3 * 2
    assert int(gan.discriminator_optimizer.iterations.numpy()) == 3 * 2 * 2
    assert all(np.isfinite(value) for values in history.history.values() for value in values)


def test_k_equal_to_one_is_the_default_step():
    # Same seed, same data: k=1 given explicitly trains exactly like the constructor without the argument.
    explicit, default = mlp_gan(discriminator_steps=1), mlp_gan()
    assert default.discriminator_steps == 1
    explicit.fit(batches(2), epochs=1, verbose=0, shuffle=False)
    default.fit(batches(2), epochs=1, verbose=0, shuffle=False)
    assert int(explicit.discriminator_optimizer.iterations.numpy()) == int(explicit.generator_optimizer.iterations.numpy()) == 2
    for mine, theirs in zip(explicit.generator.weights + explicit.discriminator.weights,
                            default.generator.weights + default.discriminator.weights):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))


def test_extra_discriminator_step_changes_only_the_discriminator():
    gan = mlp_gan(discriminator_steps=3)
    real_images = next(iter(batches(1)))
    g_before, d_before = training.snapshot_weights(gan.generator), training.snapshot_weights(gan.discriminator)
    gan.discriminator_step(real_images)
    assert training.count_changed_weights(gan.generator, g_before) == 0
    assert training.count_changed_weights(gan.discriminator, d_before) > 0
    assert int(gan.discriminator_optimizer.iterations.numpy()) == 1 and int(gan.generator_optimizer.iterations.numpy()) == 0


@pytest.mark.parametrize("k", [0, -1])
def test_k_must_be_positive(k):
    with pytest.raises(ValueError, match="discriminator_steps"):
        training.GAN(models.build_mlp_generator(), models.build_mlp_discriminator(), discriminator_steps=k)


def test_weights_changed_sees_frozen_weights_too():
    model = models.build_mlp_discriminator()
    snapshot = training.snapshot_weights(model)
    assert training.count_changed_weights(model, snapshot) == 0
    model.trainable = False
    model.weights[0].assign(model.weights[0] + 1.0)
    assert training.count_changed_weights(model, snapshot) > 0
