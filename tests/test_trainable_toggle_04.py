"""Keras 3 reads ``trainable`` when a model's train function is traced: article 004's toggling, on notebook 04's code.

A discriminator whose first ``train_on_batch`` runs while frozen never trains again, silently but for a
warning; toggling as the article does (compile ``d_on_g`` with ``d`` frozen, ``d.trainable = True`` before
``d``'s own step, ``False`` only around the combined step) trains each network on its own step only, also
after a smaller batch makes Keras trace both train functions again.
"""

import warnings

import keras
import numpy as np
import pytest

from gan_utils.training import count_changed_weights, snapshot_weights
from tools.notebook_cells import definitions


@pytest.fixture(scope="module")
def nb():
    return definitions("04_classic_keras_gan", "generator_model", "discriminator_model",
                       "generator_containing_discriminator", "make_optimizer")


def real_images(count, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, size=(count, 28, 28, 1)).astype("float32")


def test_discriminator_first_trained_while_frozen_never_trains_again(nb):
    keras.utils.set_random_seed(0)
    d = nb["discriminator_model"]()
    d.compile(loss="binary_crossentropy", optimizer=nb["make_optimizer"]("sgd"))
    images, labels = real_images(8), np.ones((8, 1), "float32")

    d.trainable = False
    before = snapshot_weights(d)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d.train_on_batch(images, labels)
    assert any("does not have any trainable weights" in str(warning.message) for warning in caught)
    assert count_changed_weights(d, before) == 0

    d.trainable = True  # too late: the train function was traced with no trainable weights
    for _ in range(3):
        d.train_on_batch(images, labels)
    assert count_changed_weights(d, before) == 0


def test_article_toggling_moves_each_network_only_on_its_own_step_even_after_a_retrace(nb, optimizer="adam"):
    keras.utils.set_random_seed(0)
    d, g = nb["discriminator_model"](), nb["generator_model"]()
    d_on_g = nb["generator_containing_discriminator"](g, d)  # sets d.trainable = False
    d_on_g.compile(loss="binary_crossentropy", optimizer=nb["make_optimizer"](optimizer))
    d.trainable = True
    d.compile(loss="binary_crossentropy", optimizer=nb["make_optimizer"](optimizer))

    rng = np.random.default_rng(1)
    for batch_size in (8, 8, 5, 5):  # the batch of 5 is a "smaller last batch": Keras traces both models again
        noise = rng.uniform(-1, 1, size=(batch_size, 100))
        generated_images = g.predict_on_batch(noise)
        X = np.concatenate([real_images(batch_size), generated_images])
        y = np.array([1] * batch_size + [0] * batch_size, "float32")[:, None]

        d_before, g_before = snapshot_weights(d), snapshot_weights(g)
        d.train_on_batch(X, y)
        assert count_changed_weights(d, d_before) > 0, f"D did not learn on its own step (batch {batch_size})"
        assert count_changed_weights(g, g_before) == 0

        noise = rng.uniform(-1, 1, size=(batch_size, 100))
        d.trainable = False
        d_before, g_before = snapshot_weights(d), snapshot_weights(g)
        d_on_g.train_on_batch(noise, np.ones((batch_size, 1), "float32"))
        d.trainable = True
        assert count_changed_weights(d, d_before) == 0, f"D moved during G's step (batch {batch_size})"
        assert count_changed_weights(g, g_before) > 0, f"G did not learn on the combined step (batch {batch_size})"
