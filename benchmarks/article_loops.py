"""The source articles' training loops, as they wrote them, brought up to Keras 3.

Used by ``benchmarks/benchmark_training.py`` (speed) and ``tests/test_training_speed.py``
(the faster ``gan_utils`` loop must give the same losses as article 000's eager loop).
Every loop trains the given generator (noise (batch, 100) -> images (batch, 28, 28, 1) in [-1, 1])
and discriminator (images -> one logit each): the same seed-000 DCGAN for all loops, so only the
loop differs. What had to change for Keras 3 is said beside each loop.
"""

import keras
import numpy as np
import tensorflow as tf

cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)  # was tf.losses.sigmoid_cross_entropy (TF 1)


def make_article_000_step(generator, discriminator, generator_optimizer, discriminator_optimizer, noise_dim=100):
    """Article 000: an eager ``tf.GradientTape`` step (no ``tf.function``), returning (gen_loss, disc_loss).

    Keras 3 changes: ``tf.random.normal`` for ``tf.random_normal``, ``BinaryCrossentropy(from_logits=True)``
    for ``tf.losses.sigmoid_cross_entropy``, and gradients over ``trainable_variables`` (the article's
    ``model.variables`` includes the BatchNorm statistics, which get no gradient). ``noise`` can be
    passed in so that a test can give this step and ``GAN.fit`` the same noise.
    """

    def generator_loss(generated_output):
        return cross_entropy(tf.ones_like(generated_output), generated_output)

    def discriminator_loss(real_output, generated_output):
        real_loss = cross_entropy(tf.ones_like(real_output), real_output)
        generated_loss = cross_entropy(tf.zeros_like(generated_output), generated_output)
        return real_loss + generated_loss

    def train_step(images, noise=None):
        if noise is None:
            noise = tf.random.normal([tf.shape(images)[0], noise_dim])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            generated_output = discriminator(generated_images, training=True)
            gen_loss = generator_loss(generated_output)
            disc_loss = discriminator_loss(real_output, generated_output)
        gradients_of_generator = gen_tape.gradient(gen_loss, generator.trainable_variables)
        gradients_of_discriminator = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        generator_optimizer.apply_gradients(zip(gradients_of_generator, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(zip(gradients_of_discriminator, discriminator.trainable_variables))
        return gen_loss, disc_loss

    return train_step


def make_article_003_step(generator, discriminator, batch_size, num_features=100, from_logits=True, make_optimizer=None):
    """Article 003: ``train_on_batch`` on the discriminator, then on ``Sequential([generator, discriminator])``
    with the discriminator frozen (``trainable`` toggled every step).

    Keras 3 changes: ``from_logits=True`` because the seed-000 discriminator outputs logits (the article's
    ended in a sigmoid: pass ``from_logits=False`` with notebook 03's own discriminator). Keras 3 reads ``trainable`` when each ``train_on_batch`` function is first traced,
    so the toggling inside the loop only matters on the first step, as in the article's Keras 2.
    Optimizers: the article's ``"adam"`` (Adam, learning rate 1e-3), or one new optimizer per network from
    ``make_optimizer()`` (a function of no arguments) to measure other settings on the same loop.
    """
    make_optimizer = make_optimizer or (lambda: "adam")
    discriminator.compile(loss=keras.losses.BinaryCrossentropy(from_logits=from_logits), optimizer=make_optimizer())
    discriminator.trainable = False
    gan = keras.models.Sequential([generator, discriminator])
    gan.compile(loss=keras.losses.BinaryCrossentropy(from_logits=from_logits), optimizer=make_optimizer())
    y1 = tf.constant([[0.0]] * batch_size + [[1.0]] * batch_size)
    y2 = tf.constant([[1.0]] * batch_size)

    def train_step(X_batch):
        noise = tf.random.normal(shape=[batch_size, num_features])
        generated_images = generator(noise)
        X_fake_and_real = tf.concat([generated_images, X_batch], axis=0)
        discriminator.trainable = True
        discriminator.train_on_batch(X_fake_and_real, y1)
        noise = tf.random.normal(shape=[batch_size, num_features])
        discriminator.trainable = False
        gan.train_on_batch(noise, y2)

    return train_step


def make_article_004_step(g, d, batch_size, from_logits=True, make_optimizer=None):
    """Article 004: ``g.predict`` on numpy noise, ``np.concatenate`` with the real batch, ``d.train_on_batch``,
    then ``d_on_g.train_on_batch`` with ``d.trainable`` toggled off and on again.

    Keras 3 changes: ``from_logits=True`` (logit output; ``False`` with notebook 04's sigmoid discriminator), labels as float arrays shaped like the output
    (Keras 3 does not accept the article's Python lists), ``learning_rate=`` for ``lr=``.
    Optimizers: the article's SGD(0.001, momentum 0.9, Nesterov), or one new optimizer per network from
    ``make_optimizer()`` (a function of no arguments). The real batch is the argument
    (the article slices ``X_train[index * BATCH_SIZE:(index + 1) * BATCH_SIZE]``: pass numpy slices).
    """
    make_optimizer = make_optimizer or (lambda: keras.optimizers.SGD(learning_rate=0.001, momentum=0.9, nesterov=True))
    d_on_g = keras.models.Sequential([g, d])
    d.trainable = False
    d_optim = make_optimizer()
    g_optim = make_optimizer()
    d_on_g.compile(loss=keras.losses.BinaryCrossentropy(from_logits=from_logits), optimizer=g_optim)
    d.trainable = True
    d.compile(loss=keras.losses.BinaryCrossentropy(from_logits=from_logits), optimizer=d_optim)
    y = np.array([1] * batch_size + [0] * batch_size, dtype=np.float32)[:, None]
    y_gan = np.ones((batch_size, 1), dtype=np.float32)

    def train_step(image_batch):
        noise = np.random.uniform(-1, 1, size=(batch_size, 100))
        generated_images = g.predict(noise, verbose=0)
        X = np.concatenate((image_batch, generated_images))
        d_loss = d.train_on_batch(X, y)
        noise = np.random.uniform(-1, 1, (batch_size, 100))
        d.trainable = False
        g_loss = d_on_g.train_on_batch(noise, y_gan)
        d.trainable = True
        return d_loss, g_loss

    return train_step
