"""A small training run that can be killed and started again: the "same command" of tests/test_resume.py.

    python -m tests.resumable_training OUTPUT_DIR EPOCHS

Notebook 02's training in a few lines, with tiny networks so that it runs in seconds: restore the
latest checkpoint, train with a frame per epoch and a checkpoint after every epoch, then write the
GIF. It prints one line per step, which the test watches to kill it in the middle of an epoch.
"""

import sys
from pathlib import Path

import keras
import numpy as np
from keras import layers

from gan_utils import callbacks, data, training, viz

LATENT_DIM = 8
STEPS_PER_EPOCH = 4


class PrintSteps(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        print(f"epoch {self.epoch} step {batch + 1}", flush=True)


def build_gan():
    keras.utils.set_random_seed(0)
    generator = keras.Sequential([keras.Input((LATENT_DIM,)), layers.Dense(28 * 28, activation="tanh"), layers.Reshape((28, 28, 1))])
    discriminator = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(16, activation="relu"), layers.Dense(1)])
    gan = training.GAN(generator, discriminator, latent_dim=LATENT_DIM)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    return gan


def main(output_dir, epochs):
    output_dir = Path(output_dir)
    images, _ = data.load_mnist("sample")
    dataset = data.make_dataset(images[: 16 * STEPS_PER_EPOCH], 16, seed=0)
    gan = build_gan()
    checkpoint = callbacks.GANCheckpoint(gan, output_dir / "checkpoints")
    initial_epoch = checkpoint.restore_latest()
    print(f"continuing after epoch {initial_epoch}, optimizer step {int(gan.generator_optimizer.iterations)}", flush=True)
    frames = callbacks.SampleGridCallback(np.ones((4, LATENT_DIM), "float32"), output_dir / "frames", show=False)
    gan.fit(dataset, epochs=epochs, initial_epoch=initial_epoch, verbose=0,
            callbacks=[frames, callbacks.CheckpointCallback(checkpoint), PrintSteps()])
    viz.write_gif(frames.saved_frames(epochs), output_dir / "training.gif")
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
