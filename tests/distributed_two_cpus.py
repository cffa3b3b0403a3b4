"""Train the GAN on two logical CPUs under tf.distribute.MirroredStrategy and on one device; print JSON.

Run by tests/test_distributed.py in a fresh Python process: logical devices can only be set up
before TensorFlow initialises, which the pytest process has long done. Tiny dense models with no
BatchNormalization or Dropout, so that one device and two replicas compute exactly the same thing.
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2
)

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

from gan_utils import training  # noqa: E402

GLOBAL_BATCH, LATENT_DIM, STEPS = 8, 4, 2
rng = np.random.default_rng(0)
IMAGES = rng.uniform(-1, 1, (GLOBAL_BATCH * STEPS, 4, 4, 1)).astype("float32")
NOISE = tf.constant(rng.normal(size=(GLOBAL_BATCH, LATENT_DIM)).astype("float32"))


def build_models():
    keras.utils.set_random_seed(0)
    generator = keras.Sequential([keras.Input((LATENT_DIM,)), layers.Dense(8, activation="relu"),
                                  layers.Dense(16, activation="tanh"), layers.Reshape((4, 4, 1))])
    discriminator = keras.Sequential([keras.Input((4, 4, 1)), layers.Flatten(), layers.Dense(8),
                                      layers.LeakyReLU(), layers.Dense(1)])
    return generator, discriminator


def noise_table(shape):
    """Stands in for tf.random.normal while the noise-table runs train: example i of a global batch always
    gets noise row i, on whichever replica it lands (MirroredStrategy gives replica r the r-th slice of each
    batch), so that one device and two replicas train on the same noise."""
    start = tf.distribute.get_replica_context().replica_id_in_sync_group * shape[0]
    return NOISE[start:start + shape[0]]


def train(strategy, noise_from_table):
    with strategy.scope():
        gan = training.DistributedGAN(*build_models(), latent_dim=LATENT_DIM)
        # SGD: its step is proportional to the gradient, so a gradient summed over replicas without
        # the 1/replicas scaling would show (Adam would hide it: it divides by the gradient's size).
        gan.compile(keras.optimizers.SGD(0.5), keras.optimizers.SGD(0.5))
    dataset = tf.data.Dataset.from_tensor_slices(IMAGES).batch(GLOBAL_BATCH)
    random_normal = tf.random.normal
    if noise_from_table:  # replaced for the whole fit(): the replicas trace train_step in threads of their own
        tf.random.normal = noise_table
    try:
        history = gan.fit(dataset, epochs=1, verbose=0)
    finally:
        tf.random.normal = random_normal
    return gan, {name: float(values[-1]) for name, values in history.history.items()}


def per_replica_values(gan):
    """Each replica's copy of the generator's and discriminator's trainable weights: a list per replica."""
    variables = gan.generator.trainable_variables + gan.discriminator.trainable_variables
    copies = [variable.value.values for variable in variables]  # a MirroredVariable holds one copy per device
    return [[copy.numpy() for copy in replica] for replica in zip(*copies)]


def largest_difference(weights_a, weights_b):
    return max(float(np.max(np.abs(a - b))) for a, b in zip(weights_a, weights_b))


generator, discriminator = build_models()
initial_weights = [keras.ops.convert_to_numpy(v) for v in generator.trainable_variables + discriminator.trainable_variables]
two_cpus = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
distributed_gan, distributed_logs = train(two_cpus, noise_from_table=True)
one_device_gan, one_device_logs = train(tf.distribute.get_strategy(), noise_from_table=True)
plain_gan, plain_logs = train(two_cpus, noise_from_table=False)  # tf.random.normal: each replica draws its own noise

replica_0, replica_1 = per_replica_values(distributed_gan)
one_device = [keras.ops.convert_to_numpy(v) for v in one_device_gan.generator.trainable_variables + one_device_gan.discriminator.trainable_variables]
noise = two_cpus.experimental_local_results(two_cpus.run(tf.function(lambda: tf.random.normal([3, LATENT_DIM]))))

print(json.dumps({
    "replicas": two_cpus.num_replicas_in_sync,
    "distributed_logs": distributed_logs,
    "one_device_logs": one_device_logs,
    "plain_logs": plain_logs,
    "steps": int(distributed_gan.generator_optimizer.iterations.numpy()),
    "smallest_weight_change": min(float(np.max(np.abs(a - b))) for a, b in zip(replica_0, initial_weights)),
    "replica_weight_difference": largest_difference(replica_0, replica_1),
    "distributed_vs_one_device_weight_difference": largest_difference(replica_0, one_device),
    "replica_noise_difference": float(np.max(np.abs(noise[0].numpy() - noise[1].numpy()))),
}))
