"""Notebook 01's networks (build_mlp_generator and build_mlp_discriminator): article 002's MLPs, layer for layer.

The article (PyTorch): generator 100 -> 256 -> 512 -> 1024 -> 784 with LeakyReLU(0.2) and a tanh output;
discriminator 784 -> 1024 -> 512 -> 256 -> 1 with LeakyReLU(0.2) and a sigmoid output; images2vectors /
vectors2images around them (here Flatten / Reshape inside the models).
"""

import keras
import numpy as np
import pytest

from tools.notebook_cells import definitions

NOTEBOOK_01 = definitions("01_vanilla_gan_mnist", "build_mlp_generator", "build_mlp_discriminator")
build_mlp_generator, build_mlp_discriminator = NOTEBOOK_01["build_mlp_generator"], NOTEBOOK_01["build_mlp_discriminator"]

GENERATOR_WIDTHS = [256, 512, 1024, 784]
DISCRIMINATOR_WIDTHS = [1024, 512, 256, 1]


@pytest.fixture(scope="module")
def generator():
    keras.utils.set_random_seed(0)
    return build_mlp_generator()


@pytest.fixture(scope="module")
def discriminator():
    keras.utils.set_random_seed(1)
    return build_mlp_discriminator()


def dense_layers(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def leaky_relu(x, slope=0.2):
    return np.where(x >= 0, x, slope * x)


def forward_by_hand(model, inputs, last_activation):
    """The article's forward pass in NumPy: Dense, LeakyReLU(0.2), ..., Dense, last activation."""
    x = inputs
    denses = dense_layers(model)
    for index, layer in enumerate(denses):
        kernel, bias = (keras.ops.convert_to_numpy(weight) for weight in layer.weights)
        x = x @ kernel + bias
        x = leaky_relu(x) if index < len(denses) - 1 else last_activation(x)
    return x


def test_the_article_widths(generator, discriminator):
    assert [layer.units for layer in dense_layers(generator)] == GENERATOR_WIDTHS
    assert [layer.units for layer in dense_layers(discriminator)] == DISCRIMINATOR_WIDTHS
    assert generator.input_shape == (None, 100) and generator.output_shape == (None, 28, 28, 1)
    assert discriminator.input_shape == (None, 28, 28, 1) and discriminator.output_shape == (None, 1)
    assert build_mlp_generator(latent_dim=64).input_shape == (None, 64)


@pytest.mark.parametrize("which", ["generator", "discriminator"])
def test_a_leaky_relu_with_slope_0_2_after_every_hidden_dense_layer(which, request):
    model = request.getfixturevalue(which)
    names = [type(layer).__name__ for layer in model.layers if type(layer).__name__ in ("Dense", "LeakyReLU")]
    assert names == ["Dense", "LeakyReLU"] * 3 + ["Dense"]
    for layer in model.layers:
        if isinstance(layer, keras.layers.LeakyReLU):
            assert layer.negative_slope == pytest.approx(0.2)
            np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(np.array([[-1.0, 2.0]], "float32"))),
                                       [[-0.2, 2.0]], rtol=1e-6)


def test_the_generator_draws_images_in_minus_one_to_one_through_tanh(generator):
    noise = np.random.default_rng(0).normal(size=(8, 100)).astype("float32")
    images = keras.ops.convert_to_numpy(generator(noise, training=False))
    assert images.shape == (8, 28, 28, 1)
    expected = forward_by_hand(generator, noise, np.tanh).reshape(8, 28, 28, 1)  # vectors2images: row after row
    np.testing.assert_allclose(images, expected, atol=2e-5)
    saturated = keras.ops.convert_to_numpy(generator(1000 * noise, training=False))  # tanh's range, reached
    assert saturated.min() >= -1.0 and saturated.max() <= 1.0
    assert saturated.min() < -0.999 and saturated.max() > 0.999


def test_the_discriminator_gives_a_probability_through_a_sigmoid(discriminator):
    images = np.random.default_rng(1).uniform(-1, 1, size=(8, 28, 28, 1)).astype("float32")
    probabilities = keras.ops.convert_to_numpy(discriminator(images, training=False))
    assert probabilities.shape == (8, 1)
    assert np.all((probabilities > 0) & (probabilities < 1))
    sigmoid = lambda x: 1 / (1 + np.exp(-x))
    expected = forward_by_hand(discriminator, images.reshape(8, 784), sigmoid)  # images2vectors: row after row
    np.testing.assert_allclose(probabilities, expected, atol=2e-5)
    assert dense_layers(discriminator)[-1].activation is keras.activations.sigmoid


def test_parameter_counts_by_hand(generator, discriminator):
    generator_counts = [100 * 256 + 256, 256 * 512 + 512, 512 * 1024 + 1024, 1024 * 784 + 784]
    discriminator_counts = [784 * 1024 + 1024, 1024 * 512 + 512, 512 * 256 + 256, 256 * 1 + 1]
    assert [layer.count_params() for layer in dense_layers(generator)] == generator_counts
    assert [layer.count_params() for layer in dense_layers(discriminator)] == discriminator_counts
    assert generator.count_params() == sum(generator_counts) == 1_486_352  # LeakyReLU, Reshape: no weights
    assert discriminator.count_params() == sum(discriminator_counts) == 1_460_225
