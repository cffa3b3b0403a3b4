"""Drawing images from a trained generator, and article 004's ``generate(nice=True)``.

Taught in notebook 04 ("Generate new digits"). Noise is (count, latent_dim) float32; images are
(count, H, W, C) float32 in [-1, 1]; discriminator scores are D(x), probabilities in (0, 1).
"""

import numpy as np


def uniform_noise(count, latent_dim=100, rng=None):
    """Article 004's noise: float32 (count, latent_dim), uniform in [-1, 1). ``rng``: a NumPy Generator or seed."""
    if int(count) < 1 or int(latent_dim) < 1:
        raise ValueError(f"count and latent_dim must be positive integers, got {count} and {latent_dim}.")
    rng = np.random.default_rng(rng)
    return rng.uniform(-1.0, 1.0, size=(int(count), int(latent_dim))).astype(np.float32)


def keep_highest_scored(images, scores, count):
    """The ``count`` images with the highest ``scores``, best first, and their scores.

    ``images``: (N, H, W, C); ``scores``: (N,) or (N, 1), e.g. D(x) for each image. Returns
    ``(best_images, best_scores)`` shaped (count, H, W, C) and (count,). Ties keep the earlier image.
    """
    images = np.asarray(images)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(scores) != len(images):
        raise ValueError(f"Need one score per image: got {len(images)} images and {len(scores)} scores.")
    if not 1 <= int(count) <= len(images):
        raise ValueError(f"count must be between 1 and the number of images ({len(images)}), got {count}.")
    order = np.argsort(-scores, kind="stable")[: int(count)]
    return images[order], scores[order]


def generate(generator, count, discriminator=None, nice=False, oversample=20, rng=None):
    """Article 004's ``generate``: ``count`` images from ``generator`` fed :func:`uniform_noise`.

    With ``nice=True`` it draws ``oversample`` x ``count`` images (the article: 20x), scores them
    with ``discriminator`` and keeps the ``count`` it rates most real (:func:`keep_highest_scored`).
    Returns ``(images, scores)``: float32 (count, H, W, C) in [-1, 1], and D(x) per kept image
    (``None`` when no discriminator is given).
    """
    if nice and discriminator is None:
        raise ValueError("generate(nice=True) needs the discriminator to score the samples: pass discriminator=d.")
    if int(oversample) < 1:
        raise ValueError(f"oversample must be a positive integer, got {oversample}.")
    latent_dim = generator.input_shape[-1]
    noise = uniform_noise(int(count) * (int(oversample) if nice else 1), latent_dim, rng)
    images = np.asarray(generator.predict(noise, verbose=0))
    if discriminator is None:
        return images, None
    scores = np.asarray(discriminator.predict(images, verbose=0)).reshape(-1)
    if not nice:
        return images, scores
    return keep_highest_scored(images, scores, count)
