"""Training a GAN with ``fit()``: a ``keras.Model`` whose ``train_step`` plays one round of the game.

``VanillaGAN`` is notebook 01's (Goodfellow et al.'s algorithm with k discriminator updates, as
article 002 trains it); ``GAN`` is notebook 02's (article 000's ``tf.GradientTape`` step); both are the
code those notebooks show. ``DistributedGAN`` extends ``GAN`` for several GPUs (README, "Several
GPUs"). ``snapshot_weights`` and ``count_changed_weights`` are notebook 03's check of which network
a step really moved. ``fit()`` takes batches of real images (batch, H, W, C) in [-1, 1].
"""

import keras
import numpy as np
import tensorflow as tf

from gan_utils.losses import discriminator_loss, generator_loss


class VanillaGAN(keras.Model):
    """Goodfellow et al.'s algorithm, as article 002 trains it: per batch, k updates of D, then one of G.

    The discriminator outputs D(x), a probability (the article's sigmoid). Logs the epoch means of
    d_loss, g_loss, real_score = D(x) on real images and fake_score = D(G(z)) on generated ones.
    """

    def __init__(self, generator, discriminator, latent_dim=100, k=1):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.k = k  # discriminator updates per generator update
        self.bce = keras.losses.BinaryCrossentropy()  # the article's nn.BCELoss()
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.real_score_tracker = keras.metrics.Mean(name="real_score")
        self.fake_score_tracker = keras.metrics.Mean(name="fake_score")

    def compile(self, generator_optimizer, discriminator_optimizer, **kwargs):
        super().compile(**kwargs)
        self.generator_optimizer, self.discriminator_optimizer = generator_optimizer, discriminator_optimizer
        if self.generator.built and self.discriminator.built:
            # Create the optimizers' variables now: created in fit()'s first step, they make TensorFlow trace it twice.
            generator_optimizer.build(self.generator.trainable_variables)
            discriminator_optimizer.build(self.discriminator.trainable_variables)

    @property
    def metrics(self):  # fit() resets them at the start of every epoch
        return [self.d_loss_tracker, self.g_loss_tracker, self.real_score_tracker, self.fake_score_tracker]

    def train_discriminator(self, real_images, noise):
        fake_images = self.generator(noise, training=True)  # outside the tape: G is not updated here
        with tf.GradientTape() as tape:
            real_output = self.discriminator(real_images, training=True)
            fake_output = self.discriminator(fake_images, training=True)
            d_loss = self.bce(tf.ones_like(real_output), real_output) + self.bce(tf.zeros_like(fake_output), fake_output)
        gradients = tape.gradient(d_loss, self.discriminator.trainable_variables)
        self.discriminator_optimizer.apply_gradients(zip(gradients, self.discriminator.trainable_variables))
        return d_loss, real_output, fake_output

    def train_generator(self, noise):
        with tf.GradientTape() as tape:
            fake_output = self.discriminator(self.generator(noise, training=True), training=True)
            g_loss = self.bce(tf.ones_like(fake_output), fake_output)  # G wants D to say "real"
        gradients = tape.gradient(g_loss, self.generator.trainable_variables)
        self.generator_optimizer.apply_gradients(zip(gradients, self.generator.trainable_variables))
        return g_loss

    def train_step(self, real_images):
        batch_size = tf.shape(real_images)[0]
        for _ in range(self.k):  # k discriminator updates, each on new fakes
            d_loss, real_output, fake_output = self.train_discriminator(
                real_images, tf.random.normal([batch_size, self.latent_dim]))
        g_loss = self.train_generator(tf.random.normal([batch_size, self.latent_dim]))

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.real_score_tracker.update_state(tf.reduce_mean(real_output))
        self.fake_score_tracker.update_state(tf.reduce_mean(fake_output))
        return {metric.name: metric.result() for metric in self.metrics}


class GAN(keras.Model):
    """A generator and a discriminator that ``fit()`` trains against each other, one step per batch.

    The discriminator outputs logits. Logs the epoch means of d_loss, g_loss, and the discriminator's
    probability of "real" for real images (real_score, D(x)) and for generated ones (fake_score, D(G(z))).
    ``real_label`` below 1 is one-sided label smoothing.
    """

    def __init__(self, generator, discriminator, latent_dim=100, real_label=1.0):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.real_label = real_label
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.real_score_tracker = keras.metrics.Mean(name="real_score")
        self.fake_score_tracker = keras.metrics.Mean(name="fake_score")

    def compile(self, generator_optimizer, discriminator_optimizer, **kwargs):
        super().compile(**kwargs)
        self.generator_optimizer, self.discriminator_optimizer = generator_optimizer, discriminator_optimizer
        if self.generator.built and self.discriminator.built:
            # Create the optimizers' variables now: created in fit()'s first step, they make TensorFlow trace it twice.
            generator_optimizer.build(self.generator.trainable_variables)
            discriminator_optimizer.build(self.discriminator.trainable_variables)

    @property
    def metrics(self):  # fit() resets them at the start of every epoch
        return [self.d_loss_tracker, self.g_loss_tracker, self.real_score_tracker, self.fake_score_tracker]

    def train_step(self, real_images):
        noise = tf.random.normal([tf.shape(real_images)[0], self.latent_dim])

        with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
            fake_images = self.generator(noise, training=True)
            real_output = self.discriminator(real_images, training=True)
            fake_output = self.discriminator(fake_images, training=True)
            g_loss = generator_loss(fake_output)
            d_loss = discriminator_loss(real_output, fake_output, self.real_label)

        # Each network learns from its own loss, and only its own weights change.
        generator_gradients = generator_tape.gradient(g_loss, self.generator.trainable_variables)
        discriminator_gradients = discriminator_tape.gradient(d_loss, self.discriminator.trainable_variables)
        self.generator_optimizer.apply_gradients(zip(generator_gradients, self.generator.trainable_variables))
        self.discriminator_optimizer.apply_gradients(zip(discriminator_gradients, self.discriminator.trainable_variables))

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.real_score_tracker.update_state(tf.reduce_mean(tf.sigmoid(real_output)))
        self.fake_score_tracker.update_state(tf.reduce_mean(tf.sigmoid(fake_output)))
        return {metric.name: metric.result() for metric in self.metrics}


class ReplicaLossMean(keras.metrics.Mean):
    """The mean of a loss that Keras divided by the number of replicas, multiplied back: as on one device."""

    def update_state(self, values, sample_weight=None):
        return super().update_state(values * tf.distribute.get_strategy().num_replicas_in_sync, sample_weight)


class DistributedGAN(GAN):
    """Notebook 02's ``GAN`` for ``tf.distribute.MirroredStrategy``: create and compile it in ``strategy.scope()``.

    ``fit()`` then gives each replica its slice of every (global) batch; each replica draws its own noise,
    and Keras' loss objects divide each replica's loss by the number of replicas, so the summed gradients
    are those of the global batch. Two things change: ``compile``, inside the scope, marks the model built (``fit``
    would otherwise build the GAN by calling it on images), and the logged losses
    are multiplied back by the number of replicas, so they read as on one device.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.d_loss_tracker = ReplicaLossMean(name="d_loss")
        self.g_loss_tracker = ReplicaLossMean(name="g_loss")

    def compile(self, generator_optimizer, discriminator_optimizer, **kwargs):
        super().compile(generator_optimizer, discriminator_optimizer, **kwargs)
        self.built = True


def snapshot_weights(model):
    """Copies of all of ``model``'s weights (trainable or not) as NumPy arrays, to compare with later."""
    return [keras.ops.convert_to_numpy(weight).copy() for weight in model.weights]


def count_changed_weights(model, snapshot):
    """How many of ``model``'s weight tensors differ from ``snapshot``: 0 means the model did not move."""
    if len(snapshot) != len(model.weights):
        raise ValueError("This snapshot is not of the same model: take it with snapshot_weights(model).")
    return sum(not np.array_equal(before, keras.ops.convert_to_numpy(weight))
               for before, weight in zip(snapshot, model.weights))
