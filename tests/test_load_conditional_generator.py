"""models.load_generator loads notebook 07's conditional generator too: [noise, one-hot labels] -> images."""

import keras
import numpy as np
import pytest
from keras import layers

from gan_utils import models


def tiny_conditional_generator(latent_dim=8, num_classes=10):
    noise, label = keras.Input((latent_dim,)), keras.Input((num_classes,))
    images = layers.Reshape((28, 28, 1))(layers.Dense(28 * 28, activation="tanh")(layers.Concatenate()([noise, label])))
    return keras.Model([noise, label], images)


def test_a_conditional_generator_loads_with_num_classes_and_draws_the_same_images(tmp_path):
    generator = tiny_conditional_generator()
    generator.save(tmp_path / "conditional.keras")
    loaded = models.load_generator(tmp_path / "conditional.keras", latent_dim=8, num_classes=10, image_shape=(28, 28, 1))
    inputs = [np.ones((3, 8), "float32"), np.eye(10, dtype="float32")[[0, 4, 9]]]
    np.testing.assert_array_equal(np.array(loaded(inputs)), np.array(generator(inputs)))


def test_without_num_classes_a_conditional_generator_is_refused_with_the_way_out(tmp_path):
    tiny_conditional_generator().save(tmp_path / "conditional.keras")
    with pytest.raises(ValueError, match=r"not a generator.*or a conditional generator \(pass num_classes\)"):
        models.load_generator(tmp_path / "conditional.keras")


def test_the_wrong_number_of_classes_or_a_plain_generator_given_num_classes_is_refused(tmp_path):
    tiny_conditional_generator().save(tmp_path / "conditional.keras")
    with pytest.raises(ValueError, match="labels of 10 classes, not num_classes=5"):
        models.load_generator(tmp_path / "conditional.keras", num_classes=5)
    with pytest.raises(ValueError, match="noise of length 8, not latent_dim=100"):
        models.load_generator(tmp_path / "conditional.keras", latent_dim=100, num_classes=10)
    plain = keras.Sequential([keras.Input((8,)), layers.Dense(28 * 28), layers.Reshape((28, 28, 1))])
    plain.save(tmp_path / "plain.keras")
    with pytest.raises(ValueError, match=r"not a generator, which maps \[noise"):
        models.load_generator(tmp_path / "plain.keras", num_classes=10)
