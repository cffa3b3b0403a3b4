"""Keras 3 reads ``trainable`` when a model's train function is traced: article 004's toggling.

Measured with Keras 3.15 (issue 4): a discriminator whose first ``train_on_batch`` runs while
frozen never trains again; toggling as the article does, starting with ``trainable = True``,
works, including after a smaller last batch makes Keras retrace.
"""

import warnings

import keras
import numpy as np

from gan_utils import models, sampling
from gan_utils.training import count_changed_weights, snapshot_weights


def sgd():
    return keras.optimizers.SGD(learning_rate=0.01, momentum=0.9, nesterov=True)


def real_images(count, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, size=(count, 28, 28, 1)).astype("float32")


def test_discriminator_first_trained_while_frozen_never_trains_again():
    keras.utils.set_random_seed(0)
    discriminator = models.build_keras_gan_discriminator()
    discriminator.compile(loss="binary_crossentropy", optimizer=sgd())
    images, labels = real_images(8), np.ones((8, 1), "float32")

    discriminator.trainable = False
    before = snapshot_weights(discriminator)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        discriminator.train_on_batch(images, labels)
    assert any("does not have any trainable weights" in str(warning.message) for warning in caught)
    assert count_changed_weights(discriminator, before) == 0

    discriminator.trainable = True  # too late: the train function was traced with no trainable weights
    for _ in range(3):
        discriminator.train_on_batch(images, labels)
    assert count_changed_weights(discriminator, before) == 0


def test_article_toggling_moves_each_network_only_on_its_own_step_even_after_a_retrace():
    keras.utils.set_random_seed(0)
    generator, discriminator = models.build_keras_gan_generator(), models.build_keras_gan_discriminator()
    combined = models.generator_containing_discriminator(generator, discriminator)  # sets trainable = False
    combined.compile(loss="binary_crossentropy", optimizer=sgd())
    discriminator.trainable = True
    discriminator.compile(loss="binary_crossentropy", optimizer=sgd())

    for batch_size in (8, 8, 5, 5):  # the batch of 5 is a "smaller last batch": Keras traces both models again
        noise = sampling.uniform_noise(batch_size, 100, rng=batch_size)
        fake_images = generator.predict_on_batch(noise)
        images = np.concatenate([real_images(batch_size), fake_images])
        labels = np.array([1] * batch_size + [0] * batch_size, "float32")[:, None]

        d_before, g_before = snapshot_weights(discriminator), snapshot_weights(generator)
        discriminator.train_on_batch(images, labels)
        assert count_changed_weights(discriminator, d_before) > 0, f"D did not learn on its own step (batch {batch_size})"
        assert count_changed_weights(generator, g_before) == 0

        discriminator.trainable = False
        d_before, g_before = snapshot_weights(discriminator), snapshot_weights(generator)
        combined.train_on_batch(noise, np.ones((batch_size, 1), "float32"))
        discriminator.trainable = True
        assert count_changed_weights(discriminator, d_before) == 0, f"D moved during G's step (batch {batch_size})"
        assert count_changed_weights(generator, g_before) > 0
