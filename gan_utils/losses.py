"""The GAN losses: binary cross-entropy for the discriminator and the generator.

Taught in notebook 02 ("Define the loss"). Each function takes the discriminator's outputs,
shaped (batch, 1), and returns a scalar float32: the mean over the batch.

``from_logits=True`` (article 000's discriminator ends in a plain Dense unit) is the
numerically safe form; ``from_logits=False`` takes probabilities in (0, 1) from a sigmoid
output layer, as the PyTorch and classic-Keras articles do, and clips them away from 0 and 1.
"""

import tensorflow as tf

EPSILON = 1e-7  # clip for probabilities, as keras.losses.binary_crossentropy does


def binary_cross_entropy(labels, outputs, from_logits=True):
    """Mean of -[y log p + (1 - y) log(1 - p)], with p = sigmoid(outputs) if ``from_logits``."""
    labels = tf.cast(labels, tf.float32)
    outputs = tf.cast(outputs, tf.float32)
    if from_logits:
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=outputs))
    probabilities = tf.clip_by_value(outputs, EPSILON, 1.0 - EPSILON)
    return -tf.reduce_mean(labels * tf.math.log(probabilities) + (1.0 - labels) * tf.math.log(1.0 - probabilities))


def discriminator_loss(real_output, fake_output, from_logits=True, real_label=1.0):
    """BCE(real -> ``real_label``) + BCE(fake -> 0). ``real_label`` < 1 is one-sided label smoothing."""
    real_loss = binary_cross_entropy(tf.fill(tf.shape(real_output), real_label), real_output, from_logits)
    fake_loss = binary_cross_entropy(tf.zeros_like(fake_output), fake_output, from_logits)
    return real_loss + fake_loss


def generator_loss(fake_output, from_logits=True):
    """BCE(fake -> 1): the generator wins when the discriminator calls its images real."""
    return binary_cross_entropy(tf.ones_like(fake_output), fake_output, from_logits)
