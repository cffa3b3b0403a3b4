"""Differentiable augmentation (DiffAugment, Zhao et al. 2020): what the discriminator sees, shifted and cut out.

Notebook 10 shows these functions. A GAN trained on few images augments every image its discriminator
sees, real and generated, with transforms made of plain ``tf`` ops, so that the generator's gradient
passes back through them. Images are (N, H, W, C) in [-1, 1], float32 or bfloat16 (the dtype is kept);
each image of a batch gets its own random draw. ``seed``: ``None`` draws fresh randomness at every call,
also inside a compiled ``train_step``; an int or a pair of ints makes the call reproducible (stateless ops;
compiled with XLA, ``jit_compile=True``, the same seed draws other numbers than without, as reproducibly).

``fill`` is the value that shifted-in and cut-out pixels get: -1, the series' black background, so a
shifted digit looks like a digit written off-centre and a cutout erases ink. DiffAugment's code fills
with 0, which is mid-grey in [-1, 1].
"""

import tensorflow as tf


def seed_pair(seed):
    """The (2,) int32 seed of TensorFlow's stateless random ops: from an int, a pair, or drawn at random for None."""
    if seed is None:  # a stateful draw: new numbers at every call, also inside tf.function
        return tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int32)
    seed = tf.cast(seed, tf.int32)
    return tf.stack([seed, 0]) if seed.shape.rank == 0 else seed


def random_translation(images, ratio=0.125, fill=-1.0, seed=None):
    """Shift each image by its own random whole number of pixels, up to ``ratio`` of its side in each direction
    (4 pixels for 28; DiffAugment's 1/8), filling the pixels shifted in with ``fill``.

    ``images`` (N, H, W, C) in [-1, 1] -> the same shape, dtype and range.
    """
    height, width = images.shape[1], images.shape[2]
    pad = int(max(height, width) * ratio + 0.5)
    shifts = tf.random.stateless_uniform([tf.shape(images)[0], 2], seed_pair(seed), -pad, pad + 1, dtype=tf.int32)
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]], constant_values=fill)
    rows = tf.range(height)[None, :] + pad - shifts[:, :1]  # (N, H): the padded row each output row comes from
    columns = tf.range(width)[None, :] + pad - shifts[:, 1:]  # (N, W)
    shifted = tf.gather(padded, rows, axis=1, batch_dims=1)  # a gather: the gradient flows to the pixels kept
    return tf.gather(shifted, columns, axis=2, batch_dims=1)


def random_cutout(images, ratio=0.5, fill=-1.0, seed=None):
    """Set a square of side ``ratio`` of the image's (14 pixels for 28; DiffAugment's half) to ``fill``, each image
    its own square, centred at a random pixel of it, so that the square may stick out of the image.

    ``images`` (N, H, W, C) in [-1, 1] -> the same shape, dtype and range.
    """
    height, width = images.shape[1], images.shape[2]
    size = int(min(height, width) * ratio + 0.5)
    centres = tf.random.stateless_uniform([tf.shape(images)[0], 2], seed_pair(seed), 0, tf.int32.max, dtype=tf.int32)
    top = centres[:, :1] % height - size // 2  # (N, 1)
    left = centres[:, 1:] % width - size // 2
    inside_rows = (tf.range(height)[None, :] >= top) & (tf.range(height)[None, :] < top + size)  # (N, H)
    inside_columns = (tf.range(width)[None, :] >= left) & (tf.range(width)[None, :] < left + size)  # (N, W)
    cut = inside_rows[:, :, None, None] & inside_columns[:, None, :, None]  # (N, H, W, 1)
    keep = 1 - tf.cast(cut, images.dtype)  # 1 outside the square: the gradient flows there, 0 inside
    return images * keep + tf.cast(fill, images.dtype) * (1 - keep)


AUGMENTATIONS = {"translation": random_translation, "cutout": random_cutout}


def diff_augment(images, policy=("translation", "cutout"), seed=None):
    """Apply the augmentations named in ``policy`` (keys of ``AUGMENTATIONS``), in order, each image drawn on its own.

    ``images`` (N, H, W, C) in [-1, 1] -> the same shape, dtype and range. Give the discriminator real and
    generated images both through it. A ``seed`` makes the call reproducible: each augmentation gets its own.
    """
    seeds = tf.random.split(seed_pair(seed), max(len(policy), 1))
    for name, augmentation_seed in zip(policy, tf.unstack(seeds)):
        images = AUGMENTATIONS[name](images, seed=augmentation_seed)
    return images
