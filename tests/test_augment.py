"""gan_utils.augment (notebook 10): DiffAugment's translation and cutout only move or erase pixels, per image,
keep the gradient to every pixel they keep, keep shape, dtype and range, and repeat themselves when seeded."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_utils.augment import AUGMENTATIONS, diff_augment, random_cutout, random_translation

TRANSFORMS = {"translation": random_translation, "cutout": random_cutout, "diff_augment": diff_augment}
FILL = -1.0  # what shifted-in and cut-out pixels become


def distinct_images(count=4, size=14, seed=0):
    """(count, size, size, 1) images whose pixels differ within each image: k/128 for k in -127..127, exact in bfloat16."""
    rng = np.random.default_rng(seed)
    values = [rng.permutation(np.arange(-127, 128))[:size * size] / 128 for _ in range(count)]
    return np.stack(values).reshape(count, size, size, 1).astype(np.float32)


def as_numpy(tensor):
    return tf.cast(tensor, tf.float32).numpy()


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("name", TRANSFORMS)
def test_the_gradient_reaches_every_pixel_kept_and_no_other(name, dtype):
    images = tf.cast(distinct_images(), dtype)
    with tf.GradientTape() as tape:
        tape.watch(images)
        augmented = TRANSFORMS[name](images, seed=3)
        total = tf.reduce_sum(augmented)
    gradient, images, augmented = as_numpy(tape.gradient(total, images)), as_numpy(images), as_numpy(augmented)
    kept = np.stack([np.isin(image, output) for image, output in zip(images, augmented)])  # pixels that are still there
    assert 0.3 < kept.mean() < 1, f"{name}: {kept.mean():.0%} of the pixels kept, expected some moved out or cut"
    np.testing.assert_array_equal(gradient, kept.astype(np.float32))  # 1 where a pixel survives (once), 0 elsewhere


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("name", TRANSFORMS)
def test_shape_dtype_and_range_are_kept_and_pixels_are_only_moved_or_filled(name, dtype):
    images = tf.cast(tf.random.stateless_uniform([5, 28, 20, 3], (1, 2), -1, 1), dtype)  # not square, three channels
    augmented = TRANSFORMS[name](images, seed=11)
    assert augmented.shape == images.shape and augmented.dtype == images.dtype
    augmented = as_numpy(augmented)
    assert augmented.min() >= -1 and augmented.max() <= 1
    assert np.isin(augmented, np.append(as_numpy(images), FILL)).all(), "a pixel value that was not in the image"
    assert (augmented == FILL).any(), f"{name} filled nothing"


@pytest.mark.parametrize("name", TRANSFORMS)
def test_each_image_of_a_batch_gets_its_own_draw(name):
    one = distinct_images(count=1)
    batch = TRANSFORMS[name](np.repeat(one, 8, axis=0), seed=5)
    different = {as_numpy(image).tobytes() for image in batch}
    assert len(different) >= 6, f"{name}: 8 copies of one image gave only {len(different)} different results"


@pytest.mark.parametrize("name", TRANSFORMS)
def test_a_seed_repeats_the_draw_another_seed_or_none_does_not(name):
    images = distinct_images()
    transform = TRANSFORMS[name]
    np.testing.assert_array_equal(transform(images, seed=7), transform(images, seed=7))
    np.testing.assert_array_equal(transform(images, seed=(7, 1)), transform(images, seed=tf.constant([7, 1])))
    assert not np.array_equal(transform(images, seed=7), transform(images, seed=8))
    assert not np.array_equal(transform(images, seed=(7, 1)), transform(images, seed=(7, 2))), "both numbers of a pair count"
    assert not np.array_equal(transform(images), transform(images)), "seed=None must draw afresh at every call"


def test_diff_augment_applies_the_policy_in_order_and_an_empty_policy_changes_nothing():
    images = distinct_images()
    assert set(AUGMENTATIONS) >= {"translation", "cutout"}
    np.testing.assert_array_equal(diff_augment(images, policy=()), images)
    only_cutout = as_numpy(diff_augment(images, policy=("cutout",), seed=2))
    assert np.isin(only_cutout, np.append(images, FILL)).all() and ((only_cutout == images) | (only_cutout == FILL)).all()
    with pytest.raises(KeyError):
        diff_augment(images, policy=("colour",))


@pytest.mark.parametrize("jit_compile", [False, True])
def test_it_works_in_a_compiled_step_with_fresh_draws_and_gradients(jit_compile):
    images = distinct_images()

    @tf.function(jit_compile=jit_compile)
    def step(images, seed=None):
        with tf.GradientTape() as tape:
            tape.watch(images)
            total = tf.reduce_sum(diff_augment(images, seed=seed))
        return diff_augment(images, seed=seed), tape.gradient(total, images)

    images = tf.constant(images)
    (first, gradient), (second, _) = step(images), step(images)
    gradient = gradient.numpy()
    assert not np.array_equal(first, second), "a compiled step must augment differently at every call"
    assert 0 < np.count_nonzero(gradient) < gradient.size
    np.testing.assert_array_equal(step(images, seed=(4, 4))[0], step(images, seed=(4, 4))[0])
    if not jit_compile:  # XLA's stateless generator draws other numbers than the eager one, reproducibly
        np.testing.assert_array_equal(step(images, seed=(4, 4))[0], diff_augment(images, seed=(4, 4)))


def test_under_the_mixed_bfloat16_policy_a_discriminator_trains_through_it():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        discriminator = keras.Sequential([keras.Input((14, 14, 1)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(),
                                          keras.layers.Dense(1, dtype="float32")])
        images = tf.Variable(distinct_images())
        with tf.GradientTape() as tape:
            augmented = diff_augment(tf.cast(images, tf.bfloat16))
            assert augmented.dtype == tf.bfloat16
            score = tf.reduce_mean(discriminator(augmented))
        gradients = tape.gradient(score, [images] + discriminator.trainable_variables)
        assert all(gradient is not None and np.count_nonzero(gradient) for gradient in gradients)
    finally:
        keras.mixed_precision.set_global_policy(previous)
