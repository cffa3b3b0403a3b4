"""What notebook 02's GAN.train_step does, checked against the same step computed by hand.

For fixed weights, noise and batch, each network's update must equal plain SGD on the gradient of its own
loss, computed here with tf.GradientTape and TensorFlow's own sigmoid cross-entropy, with real label 1.0
and with 0.9 (one-sided label smoothing). A step that trained a network on the other's loss, took gradients
over the wrong weights, or ignored real_label gives other weights.
"""


import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from gan_utils import data, models, training

LATENT_DIM, BATCH, LEARNING_RATE = 4, 6, 0.1


def tiny_networks(seed=0):
    """Dense networks without dropout or batch normalisation: every pass over the same input gives the same output."""
    keras.utils.set_random_seed(seed)
    generator = keras.Sequential([keras.Input((LATENT_DIM,)), layers.Dense(8, activation="relu"),
                                  layers.Dense(16, activation="tanh"), layers.Reshape((4, 4, 1))])
    discriminator = keras.Sequential([keras.Input((4, 4, 1)), layers.Flatten(), layers.Dense(8),
                                      layers.LeakyReLU(), layers.Dense(1)])
    return generator, discriminator


def weights(model):
    return [keras.ops.convert_to_numpy(variable).copy() for variable in model.trainable_variables]


def bce_with_logits(labels, logits):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.fill(tf.shape(logits), labels), logits=logits))


def step_by_hand(generator, discriminator, real_images, noise, real_label):
    """New weights after one SGD step of each network on its own loss, and the two losses."""
    with tf.GradientTape() as generator_tape:
        fake_output = discriminator(generator(noise, training=True), training=True)
        g_loss = bce_with_logits(1.0, fake_output)
    with tf.GradientTape() as discriminator_tape:
        real_output = discriminator(real_images, training=True)
        fake_output = discriminator(generator(noise, training=True), training=True)
        d_loss = bce_with_logits(real_label, real_output) + bce_with_logits(0.0, fake_output)
    new_generator = [w - LEARNING_RATE * g.numpy() for w, g in
                     zip(weights(generator), generator_tape.gradient(g_loss, generator.trainable_variables))]
    new_discriminator = [w - LEARNING_RATE * g.numpy() for w, g in
                         zip(weights(discriminator), discriminator_tape.gradient(d_loss, discriminator.trainable_variables))]
    scores = float(tf.reduce_mean(tf.sigmoid(real_output))), float(tf.reduce_mean(tf.sigmoid(fake_output)))
    return new_generator, new_discriminator, float(g_loss), float(d_loss), scores


@pytest.fixture
def fixed_noise(monkeypatch):
    """GAN.train_step draws its noise with tf.random.normal: give it this table instead."""
    noise = tf.constant(np.random.default_rng(1).normal(size=(BATCH, LATENT_DIM)).astype("float32"))
    monkeypatch.setattr(tf.random, "normal", lambda shape, *args, **kwargs: noise[: shape[0]])
    return noise


@pytest.mark.parametrize("real_label", [1.0, 0.9])
def test_each_network_takes_one_sgd_step_on_its_own_loss(real_label, fixed_noise):
    real_images = tf.constant(np.random.default_rng(2).uniform(-1, 1, (BATCH, 4, 4, 1)).astype("float32"))
    expected_generator, expected_discriminator, g_loss, d_loss, (real_score, fake_score) = step_by_hand(
        *tiny_networks(), real_images, fixed_noise, real_label)

    gan = training.GAN(*tiny_networks(), latent_dim=LATENT_DIM, real_label=real_label)
    gan.compile(keras.optimizers.SGD(LEARNING_RATE), keras.optimizers.SGD(LEARNING_RATE))
    logs = gan.train_step(real_images)

    for got, want in zip(weights(gan.generator), expected_generator):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    for got, want in zip(weights(gan.discriminator), expected_discriminator):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert float(logs["g_loss"]) == pytest.approx(g_loss, rel=1e-5)
    assert float(logs["d_loss"]) == pytest.approx(d_loss, rel=1e-5)
    assert float(logs["real_score"]) == pytest.approx(real_score, rel=1e-5)
    assert float(logs["fake_score"]) == pytest.approx(fake_score, rel=1e-5)


def test_label_smoothing_changes_the_discriminator_step_and_not_the_generator_step(fixed_noise):
    real_images = tf.constant(np.random.default_rng(2).uniform(-1, 1, (BATCH, 4, 4, 1)).astype("float32"))
    steps = {}
    for real_label in (1.0, 0.9):
        gan = training.GAN(*tiny_networks(), latent_dim=LATENT_DIM, real_label=real_label)
        gan.compile(keras.optimizers.SGD(LEARNING_RATE), keras.optimizers.SGD(LEARNING_RATE))
        gan.train_step(real_images)
        steps[real_label] = weights(gan.generator), weights(gan.discriminator)
    for smooth, sharp in zip(steps[0.9][0], steps[1.0][0]):
        np.testing.assert_array_equal(smooth, sharp)
    assert any(not np.allclose(smooth, sharp) for smooth, sharp in zip(steps[0.9][1], steps[1.0][1]))


def real_batches(count=1, batch_size=8):
    images = np.random.default_rng(3).uniform(-1, 1, (batch_size * count, 4, 4, 1)).astype("float32")
    return tf.data.Dataset.from_tensor_slices(images).batch(batch_size)


def tiny_gan(**compile_kwargs):
    gan = training.GAN(*tiny_networks(), latent_dim=LATENT_DIM)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), **compile_kwargs)
    return gan


def test_fit_reports_the_four_numbers_and_updates_every_weight_of_both_networks():
    gan = tiny_gan()
    g_before, d_before = weights(gan.generator), weights(gan.discriminator)
    history = gan.fit(real_batches(), epochs=1, verbose=0, shuffle=False)
    assert all(not np.array_equal(old, new) for old, new in zip(g_before, weights(gan.generator)))
    assert all(not np.array_equal(old, new) for old, new in zip(d_before, weights(gan.discriminator)))
    assert set(history.history) == {"d_loss", "g_loss", "real_score", "fake_score"}
    assert 0 < history.history["real_score"][0] < 1 and 0 < history.history["fake_score"][0] < 1


@pytest.mark.parametrize("jit_compile", [False, True])
def test_fit_runs_every_step_with_steps_per_execution_and_xla(jit_compile):
    """A GPU's settings (XLA, several steps per execution), run on the CPU."""
    gan = tiny_gan(steps_per_execution=2, jit_compile=jit_compile)
    assert gan.jit_compile is jit_compile  # Keras falls back to no XLA, with only a warning, when it can't use it
    history = gan.fit(real_batches(count=4), epochs=2, verbose=0, shuffle=False)
    assert int(gan.generator_optimizer.iterations) == int(gan.discriminator_optimizer.iterations) == 8
    assert all(np.isfinite(value) for values in history.history.values() for value in values)


def test_bfloat16_dcgan_layers_compute_in_bfloat16_with_float32_outputs_and_losses():
    try:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        keras.utils.set_random_seed(0)
        gan = training.GAN(models.build_dcgan_generator(), models.build_dcgan_discriminator())
    finally:
        keras.mixed_precision.set_global_policy("float32")
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    images = gan.generator(tf.zeros((2, 100)), training=False)
    assert gan.generator.layers[0].compute_dtype == "bfloat16" and images.dtype == "float32"
    assert gan.discriminator(images, training=False).dtype == "float32"
    logs = gan.train_step(tf.constant(data.load_mnist("sample")[0][:4]))  # one eager step
    assert all(logs[name].dtype == "float32" and np.isfinite(float(logs[name])) for name in logs)


def test_snapshot_and_count_changed_weights_see_frozen_weights_too():
    model = models.build_dcgan_discriminator()
    snapshot = training.snapshot_weights(model)
    assert training.count_changed_weights(model, snapshot) == 0
    model.trainable = False
    model.weights[0].assign(model.weights[0] + 1.0)
    model.weights[-1].assign(model.weights[-1] + 1.0)
    assert training.count_changed_weights(model, snapshot) == 2


def test_count_changed_weights_refuses_a_snapshot_of_another_model_with_the_fix():
    small = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    large = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    assert training.count_changed_weights(small, training.snapshot_weights(small)) == 0
    with pytest.raises(ValueError) as raised:
        training.count_changed_weights(small, training.snapshot_weights(large))
    assert str(raised.value) == "This snapshot is not of the same model: take it with snapshot_weights(model)."


def test_every_step_draws_one_fake_per_real_image_and_runs_both_networks_in_training_mode(monkeypatch):
    """Notebook 02's generator has batch normalisation and its discriminator dropout: both behave differently
    in training mode, so every call of a training step must ask for it."""
    gan = tiny_gan()
    calls = {"generator": [], "discriminator": []}
    for name in calls:
        network = getattr(gan, name)
        original_call = network.call
        monkeypatch.setattr(network, "call", lambda inputs, training=None, _seen=calls[name], _call=original_call, **kwargs:
                            _seen.append((int(inputs.shape[0]), training)) or _call(inputs, training=training, **kwargs))
    gan.train_step(next(iter(real_batches(batch_size=3))))
    assert calls == {"generator": [(3, True)], "discriminator": [(3, True), (3, True)]}


def test_the_latent_size_defaults_to_the_articles_100():
    generator, discriminator = tiny_networks()
    assert training.GAN(generator, discriminator).latent_dim == 100
    assert training.VanillaGAN(generator, discriminator).latent_dim == 100


def test_fit_traces_the_training_step_once_and_trains_networks_built_late_too():
    """compile creates the optimizers' variables: created in the first step, they make TensorFlow trace it twice.
    Networks without an Input have no variables before their first call: their optimizers are built in that step,
    also when the other network is built (a build on no variables would fail the first step: "Unknown variable")."""
    traces = []

    class CountedGAN(training.GAN):
        def train_step(self, real_images):
            traces.append(real_images.shape)  # Python runs only while TensorFlow traces the step
            return super().train_step(real_images)

    gan = CountedGAN(*tiny_networks(), latent_dim=LATENT_DIM)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    gan.fit(real_batches(count=2), epochs=1, verbose=0, shuffle=False)
    assert len(traces) == 1 and int(gan.generator_optimizer.iterations) == 2
    vanilla = training.VanillaGAN(*tiny_networks(), latent_dim=LATENT_DIM)  # notebook 01's GAN: the same compile
    vanilla.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    assert vanilla.generator_optimizer.built and vanilla.discriminator_optimizer.built

    def late_generator():
        return keras.Sequential([layers.Dense(16, activation="tanh"), layers.Reshape((4, 4, 1))])

    def late_discriminator():
        return keras.Sequential([layers.Flatten(), layers.Dense(1)])

    built_generator, built_discriminator = tiny_networks()
    for gan_class, generator, discriminator, run_eagerly in ((training.GAN, late_generator(), late_discriminator(), False),
                                                             (training.GAN, built_generator, late_discriminator(), True),
                                                             (training.VanillaGAN, late_generator(), built_discriminator, True)):
        late = gan_class(generator, discriminator, latent_dim=LATENT_DIM)
        late.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), run_eagerly=run_eagerly)  # eagerly: faster, and fails alike
        late.fit(real_batches(), epochs=1, verbose=0, shuffle=False)
        assert int(late.generator_optimizer.iterations) == int(late.discriminator_optimizer.iterations) == 1
