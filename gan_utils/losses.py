"""The DCGAN losses: binary cross-entropy on the discriminator's logits.

Taught in notebook 02 ("Define the losses"), which shows this same code. Each function takes the
discriminator's outputs, logits shaped (batch, 1), and returns a scalar: the mean over the batch.
Under ``tf.distribute``, Keras' loss objects also divide that mean by the number of replicas, so
that the replicas' summed gradients are those of the whole batch.
"""

import keras
import tensorflow as tf

cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)


def discriminator_loss(real_output, fake_output, real_label=1.0):
    # Real images should get the label real_label (1, or 0.9 with one-sided label smoothing), fakes 0.
    real_loss = cross_entropy(tf.fill(tf.shape(real_output), real_label), real_output)
    fake_loss = cross_entropy(tf.zeros_like(fake_output), fake_output)
    return real_loss + fake_loss


def generator_loss(fake_output):
    # The generator wins when the discriminator calls its images real.
    return cross_entropy(tf.ones_like(fake_output), fake_output)
