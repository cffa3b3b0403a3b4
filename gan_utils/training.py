"""``GAN``: a ``keras.Model`` that holds a generator and a discriminator and trains both.

Taught in notebook 02 ("Train"). ``train_step`` is article 000's ``tf.GradientTape`` step;
putting it inside a ``keras.Model`` means ``fit()`` supplies the progress bar, ``History``,
callbacks, ``steps_per_execution`` and ``jit_compile``.

The same class trains on several GPUs under ``tf.distribute.MirroredStrategy``: create and
compile it inside ``strategy.scope()`` and call ``fit()`` as usual (README, "Several GPUs").
"""

import keras
import numpy as np
import tensorflow as tf

from gan_utils.data import check_training_data
from gan_utils.losses import discriminator_loss, generator_loss


class GAN(keras.Model):
    """Generator + discriminator, trained together by ``fit(dataset_of_real_image_batches)``.

    Each step reports ``d_loss``, ``g_loss``, ``real_score`` (mean D(x), the probability the
    discriminator gives real images) and ``fake_score`` (mean D(G(z))), averaged over the epoch.

    ``discriminator_steps`` is the k of Goodfellow et al.'s algorithm (notebook 01): each step first
    makes k - 1 extra discriminator updates on the same real batch, each with fresh noise, then the
    joint update below (the k-th for D, the only one for G). With k = 1 it is article 000's step.
    """

    def __init__(self, generator, discriminator, latent_dim=None, from_logits=True, seed=None,
                 discriminator_steps=1, real_label=1.0, **kwargs):
        super().__init__(**kwargs)
        if int(discriminator_steps) < 1:
            raise ValueError(f"discriminator_steps (k) must be a positive integer, got {discriminator_steps}.")
        self.discriminator_steps = int(discriminator_steps)  # k: D updates per G update (notebook 01)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim or generator.input_shape[-1])
        self.from_logits = from_logits
        self.real_label = float(real_label)  # < 1: one-sided label smoothing (notebook 06)
        self.noise_seed = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.real_score_tracker = keras.metrics.Mean(name="real_score")
        self.fake_score_tracker = keras.metrics.Mean(name="fake_score")

    def compile(self, generator_optimizer, discriminator_optimizer, **kwargs):
        """Like ``keras.Model.compile`` (``jit_compile``, ``steps_per_execution``...), with one optimizer per network."""
        super().compile(**kwargs)
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        # Build everything now, inside the caller's tf.distribute scope if there is one. Otherwise fit()
        # tries to build the GAN by calling it on a batch of images, and under MirroredStrategy the
        # optimizers' variables would be created outside the scope.
        if self.generator.built and self.discriminator.built:
            self.generator_optimizer.build(self.generator.trainable_variables)
            self.discriminator_optimizer.build(self.discriminator.trainable_variables)
            self.built = True

    def fit(self, x=None, *args, **kwargs):
        """``keras.Model.fit``, after checking that ``x`` holds float images in [-1, 1] of the discriminator's shape.

        Wrongly scaled or shaped data fails here with a ``ValueError`` that says what to do, instead of
        training on the wrong range or failing deep inside TensorFlow (``gan_utils.data.check_training_data``).
        A ``tf.data.Dataset`` is used in its own order (shuffle it in the pipeline, as ``data.make_dataset`` does):
        Keras ignores ``shuffle`` for datasets, and only warns about it when left at its default of True.
        """
        check_training_data(x, self.discriminator.input_shape[1:])
        if isinstance(x, tf.data.Dataset):
            kwargs.setdefault("shuffle", False)
        return super().fit(x, *args, **kwargs)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.real_score_tracker, self.fake_score_tracker]

    def call(self, noise, training=False):
        """Generate images (batch, H, W, C) in [-1, 1] from noise (batch, latent_dim)."""
        return self.generator(noise, training=training)

    def sample_noise(self, batch_size):
        """Standard normal noise (batch_size, latent_dim), drawn from the model's seeded stream."""
        replica_context = tf.distribute.get_replica_context()
        if replica_context is None or replica_context.num_replicas_in_sync == 1:
            return keras.random.normal((batch_size, self.latent_dim), seed=self.noise_seed)
        # Under tf.distribute all replicas share one seed state and would draw the same noise:
        # fold each replica's number into the seed so that each draws its own.
        seed = tf.random.experimental.stateless_fold_in(self.noise_seed.next(), replica_context.replica_id_in_sync_group)
        return tf.random.stateless_normal((batch_size, self.latent_dim), seed=seed)

    def to_probability(self, discriminator_output):
        return tf.sigmoid(discriminator_output) if self.from_logits else discriminator_output

    def discriminator_step(self, real_images):
        """One update of the discriminator alone, on ``real_images`` and a fresh batch of fakes."""
        fake_images = self.generator(self.sample_noise(tf.shape(real_images)[0]), training=True)
        with tf.GradientTape() as discriminator_tape:
            real_output = self.discriminator(real_images, training=True)
            fake_output = self.discriminator(fake_images, training=True)
            d_loss = discriminator_loss(real_output, fake_output, self.from_logits, self.real_label)
            replicas = tf.distribute.get_strategy().num_replicas_in_sync  # as in train_step
            d_loss_to_minimize = self.discriminator_optimizer.scale_loss(d_loss / replicas)
        discriminator_weights = self.discriminator.trainable_variables
        discriminator_gradients = discriminator_tape.gradient(d_loss_to_minimize, discriminator_weights)
        self.discriminator_optimizer.apply_gradients(zip(discriminator_gradients, discriminator_weights))

    def train_step(self, real_images):
        for _ in range(self.discriminator_steps - 1):  # k > 1: the extra discriminator updates
            self.discriminator_step(real_images)
        noise = self.sample_noise(tf.shape(real_images)[0])
        # Under tf.distribute each of the N replicas gets batch/N images and the optimizers add up the
        # replicas' gradients; minimising mean loss / N (= summed loss / global batch) on each replica
        # gives the gradient of the global batch's mean loss. Without tf.distribute N is 1.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync

        with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
            fake_images = self.generator(noise, training=True)
            real_output = self.discriminator(real_images, training=True)
            fake_output = self.discriminator(fake_images, training=True)
            g_loss = generator_loss(fake_output, self.from_logits)
            d_loss = discriminator_loss(real_output, fake_output, self.from_logits, self.real_label)
            # scale_loss multiplies by the loss scale when the optimizer is a LossScaleOptimizer
            # (mixed_float16); for any other optimizer it returns the loss unchanged.
            g_loss_to_minimize = self.generator_optimizer.scale_loss(g_loss / replicas)
            d_loss_to_minimize = self.discriminator_optimizer.scale_loss(d_loss / replicas)

        # Each network is updated only with the gradients of its own loss, over its own weights.
        generator_weights = self.generator.trainable_variables
        discriminator_weights = self.discriminator.trainable_variables
        generator_gradients = generator_tape.gradient(g_loss_to_minimize, generator_weights)
        discriminator_gradients = discriminator_tape.gradient(d_loss_to_minimize, discriminator_weights)
        self.generator_optimizer.apply_gradients(zip(generator_gradients, generator_weights))
        self.discriminator_optimizer.apply_gradients(zip(discriminator_gradients, discriminator_weights))

        # The trackers get each replica's unscaled mean; fit() reports their mean over replicas.
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.real_score_tracker.update_state(tf.reduce_mean(self.to_probability(real_output)))
        self.fake_score_tracker.update_state(tf.reduce_mean(self.to_probability(fake_output)))
        return {metric.name: metric.result() for metric in self.metrics}


def snapshot_weights(model):
    """Copies of all of ``model``'s weights as NumPy arrays, to compare with later (notebooks 03, 04).

    All weights, trainable or not: freezing a model (``trainable = False``) hides its weights from
    ``trainable_weights`` but must not hide them from this check. BatchNorm's moving statistics are
    weights too and change in every ``training=True`` forward pass.
    """
    return [keras.ops.convert_to_numpy(weight).copy() for weight in model.weights]


def count_changed_weights(model, snapshot):
    """How many of ``model``'s weight tensors differ from ``snapshot`` (from :func:`snapshot_weights`).

    0 means the model did not move; ``len(model.weights)`` means every tensor did. Notebook 03 uses it
    to show which network a ``train_on_batch`` step really updated.
    """
    if len(snapshot) != len(model.weights):
        raise ValueError(f"The snapshot has {len(snapshot)} tensors but the model has {len(model.weights)}: "
                         "take it from the same model with snapshot_weights(model).")
    return sum(not np.array_equal(before, keras.ops.convert_to_numpy(weight))
               for before, weight in zip(snapshot, model.weights))
