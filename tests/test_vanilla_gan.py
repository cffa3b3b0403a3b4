"""Notebook 01's training loop (gan_utils.training.VanillaGAN): article 002's train_discriminator and
train_generator, with k discriminator updates per generator update (Goodfellow et al.'s algorithm).

The updates are checked against plain SGD (new weights = old - learning rate x gradient) with gradients
computed here, by hand, from each network's own loss on D's probabilities:
D's loss  -mean(log D(x)) - mean(log(1 - D(G(z))));  G's loss  -mean(log D(G(z))).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_utils import data, training
from gan_utils.training import VanillaGAN
from tools.notebook_cells import definitions

NOTEBOOK_01 = definitions("01_vanilla_gan_mnist", "build_mlp_generator", "build_mlp_discriminator")
build_mlp_generator, build_mlp_discriminator = NOTEBOOK_01["build_mlp_generator"], NOTEBOOK_01["build_mlp_discriminator"]

BATCH = 4
LATENT_DIM = 100
LEARNING_RATE = 1.0  # SGD: the update is the gradient itself, large enough to compare with atol


def make_gan(k=None, seed=0, optimizer=lambda: keras.optimizers.SGD(LEARNING_RATE), gan_class=VanillaGAN, **compile_kwargs):
    keras.utils.set_random_seed(seed)
    arguments = {} if k is None else {"k": k}
    gan = gan_class(build_mlp_generator(LATENT_DIM), build_mlp_discriminator(), LATENT_DIM, **arguments)
    gan.compile(generator_optimizer=optimizer(), discriminator_optimizer=optimizer(), **compile_kwargs)
    return gan


@pytest.fixture(scope="module")
def real_images():
    return data.load_mnist("sample")[0][: BATCH * 2]  # two batches


def batches(images):
    return tf.data.Dataset.from_tensor_slices(images).batch(BATCH, drop_remainder=True)


def fixed_noise(seed=0):
    return tf.constant(np.random.default_rng(seed).normal(size=(BATCH, LATENT_DIM)).astype("float32"))


def numpy_weights(model):
    return [keras.ops.convert_to_numpy(weight).copy() for weight in model.trainable_weights]


def iterations(optimizer):
    return int(keras.ops.convert_to_numpy(optimizer.iterations))


def test_k_two_makes_two_discriminator_updates_per_generator_update(real_images):
    gan = make_gan(k=2, optimizer=lambda: keras.optimizers.Adam(2e-4, beta_1=0.5), run_eagerly=True)  # no tracing
    history = gan.fit(batches(real_images), epochs=1, verbose=0, shuffle=False)
    assert iterations(gan.generator_optimizer) == 2  # one per batch
    assert iterations(gan.discriminator_optimizer) == 2 * 2
    assert all(np.isfinite(values[-1]) for values in history.history.values())


def test_k_one_is_the_default(real_images):
    trained = []
    for arguments in ({}, {"k": 1}):  # each seeded, built and trained in turn: the same noise for both
        gan = make_gan(optimizer=lambda: keras.optimizers.Adam(2e-4, beta_1=0.5), run_eagerly=True, **arguments)
        gan.fit(batches(real_images), epochs=1, verbose=0, shuffle=False)  # eager: no tracing, faster
        assert iterations(gan.discriminator_optimizer) == iterations(gan.generator_optimizer) == 2
        trained.append(gan)
    default, explicit = trained
    assert default.k == 1
    # Same seed, same data: the default trains exactly as k=1 given explicitly.
    for mine, theirs in zip(numpy_weights(default.generator) + numpy_weights(default.discriminator),
                            numpy_weights(explicit.generator) + numpy_weights(explicit.discriminator)):
        np.testing.assert_array_equal(mine, theirs)


def test_train_discriminator_moves_only_the_discriminator(real_images):
    gan = make_gan()
    g_before, d_before = training.snapshot_weights(gan.generator), training.snapshot_weights(gan.discriminator)
    gan.train_discriminator(real_images[:BATCH], fixed_noise())
    assert training.count_changed_weights(gan.generator, g_before) == 0
    assert training.count_changed_weights(gan.discriminator, d_before) == len(gan.discriminator.weights)
    assert iterations(gan.discriminator_optimizer) == 1 and iterations(gan.generator_optimizer) == 0


def test_train_generator_moves_only_the_generator():
    gan = make_gan()
    g_before, d_before = training.snapshot_weights(gan.generator), training.snapshot_weights(gan.discriminator)
    gan.train_generator(fixed_noise())
    assert training.count_changed_weights(gan.discriminator, d_before) == 0
    assert training.count_changed_weights(gan.generator, g_before) == len(gan.generator.weights)
    assert iterations(gan.generator_optimizer) == 1 and iterations(gan.discriminator_optimizer) == 0


def assert_sgd_step(before, after, gradients):
    largest = max(float(np.abs(gradient).max()) for gradient in gradients)
    assert largest > 1e-3, "the gradients are too small for this comparison to mean anything"
    for old, new, gradient in zip(before, after, gradients):
        np.testing.assert_allclose(new, old - LEARNING_RATE * gradient, rtol=1e-4, atol=1e-6)


def test_the_discriminator_update_is_the_gradient_of_its_own_loss(real_images):
    gan = make_gan()
    real, noise = tf.constant(real_images[:BATCH]), fixed_noise()
    before = numpy_weights(gan.discriminator)
    fake = gan.generator(noise, training=True)
    with tf.GradientTape() as tape:
        real_probability = gan.discriminator(real, training=True)
        fake_probability = gan.discriminator(fake, training=True)
        loss = -tf.reduce_mean(tf.math.log(real_probability)) - tf.reduce_mean(tf.math.log(1 - fake_probability))
    gradients = [g.numpy() for g in tape.gradient(loss, gan.discriminator.trainable_weights)]

    d_loss, real_output, fake_output = gan.train_discriminator(real, noise)
    assert_sgd_step(before, numpy_weights(gan.discriminator), gradients)
    np.testing.assert_allclose(float(d_loss), float(loss), rtol=1e-5)
    np.testing.assert_allclose(real_output, real_probability, rtol=1e-5)  # D's outputs before its update
    np.testing.assert_allclose(fake_output, fake_probability, rtol=1e-5)


def test_the_generator_update_is_the_gradient_of_its_own_loss():
    gan = make_gan()
    noise = fixed_noise()
    before = numpy_weights(gan.generator)
    with tf.GradientTape() as tape:
        loss = -tf.reduce_mean(tf.math.log(gan.discriminator(gan.generator(noise, training=True), training=True)))
    gradients = [g.numpy() for g in tape.gradient(loss, gan.generator.trainable_weights)]

    g_loss = gan.train_generator(noise)
    assert_sgd_step(before, numpy_weights(gan.generator), gradients)
    np.testing.assert_allclose(float(g_loss), float(loss), rtol=1e-5)


class RecordingGAN(VanillaGAN):
    """VanillaGAN that keeps what each discriminator and generator update returned (run eagerly)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.discriminator_results, self.generator_losses = [], []

    def train_discriminator(self, real_images, noise):
        result = super().train_discriminator(real_images, noise)
        self.discriminator_results.append([keras.ops.convert_to_numpy(value) for value in result])
        return result

    def train_generator(self, noise):
        g_loss = super().train_generator(noise)
        self.generator_losses.append(float(g_loss))
        return g_loss


def test_the_reported_scores_are_the_means_of_the_discriminator_outputs(real_images):
    gan = make_gan(k=1, gan_class=RecordingGAN)
    first_batch = real_images[:BATCH]
    real_score_by_hand = float(np.mean(keras.ops.convert_to_numpy(gan.discriminator(first_batch, training=False))))
    logs = gan.train_step(tf.constant(first_batch))
    assert float(logs["real_score"]) == pytest.approx(real_score_by_hand, rel=1e-5)  # D(x) before D's update
    _, real_output, fake_output = gan.discriminator_results[-1]
    assert float(logs["fake_score"]) == pytest.approx(float(np.mean(fake_output)), rel=1e-5)
    assert float(logs["real_score"]) == pytest.approx(float(np.mean(real_output)), rel=1e-5)


def test_an_epoch_reports_the_means_over_its_batches_of_the_last_discriminator_update(real_images):
    k = 2
    gan = make_gan(k=k, gan_class=RecordingGAN, optimizer=lambda: keras.optimizers.Adam(2e-4, beta_1=0.5),
                   run_eagerly=True)  # eager: every update is recorded
    history = gan.fit(batches(real_images), epochs=1, verbose=0, shuffle=False)
    last_updates = gan.discriminator_results[k - 1::k]  # the k-th update of each batch
    assert len(gan.discriminator_results) == k * 2 and len(last_updates) == len(gan.generator_losses) == 2
    expected = {"d_loss": np.mean([float(d_loss) for d_loss, _, _ in last_updates]),
                "real_score": np.mean([np.mean(real) for _, real, _ in last_updates]),
                "fake_score": np.mean([np.mean(fake) for _, _, fake in last_updates]),
                "g_loss": np.mean(gan.generator_losses)}
    for name, value in expected.items():
        assert history.history[name][-1] == pytest.approx(float(value), rel=1e-5), name


def test_count_changed_weights_sees_frozen_weights_too():
    model = build_mlp_discriminator()
    snapshot = training.snapshot_weights(model)
    assert training.count_changed_weights(model, snapshot) == 0
    model.trainable = False
    model.weights[0].assign(model.weights[0] + 1.0)
    assert training.count_changed_weights(model, snapshot) == 1


def spy_on_calls(model, monkeypatch):
    """Record (batch size of the input, the `training` flag) of every call of ``model``, called eagerly."""
    seen, original_call = [], model.call
    monkeypatch.setattr(model, "call", lambda inputs, training=None, **kwargs:
                        seen.append((int(inputs.shape[0]), training)) or original_call(inputs, training=training, **kwargs))
    return seen


def test_every_step_draws_one_fake_per_real_image_and_runs_both_networks_in_training_mode(real_images, monkeypatch):
    """Both networks have dropout (notebook 01): in training mode in every update, on batches of the real size."""
    gan = make_gan(k=2)
    generator_calls, discriminator_calls = spy_on_calls(gan.generator, monkeypatch), spy_on_calls(gan.discriminator, monkeypatch)
    gan.train_step(tf.constant(real_images[:3]))  # 3 images: neither 28 nor 784 nor the latent size
    assert generator_calls == [(3, True)] * 3  # k = 2 discriminator updates, then one generator update
    assert discriminator_calls == [(3, True)] * 5  # reals and fakes in each D update, fakes in the G update
