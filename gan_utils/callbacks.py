"""Keras callbacks for GAN training: a sample grid after every epoch, and checkpoints.

Taught in notebook 02 ("Train" and "Restore the latest checkpoint").
"""

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from gan_utils.viz import save_image_grid


class SampleGridCallback(keras.callbacks.Callback):
    """After every epoch, draw images from one fixed noise batch and save them as a PNG grid.

    Fixed noise makes the frames comparable: the same "seed" digit improving epoch by epoch.
    Frames are ``output_dir/epoch_0001.png``, ... (numbered from 1). With ``show``, the latest
    grid is shown in the notebook, updated in place.
    """

    def __init__(self, noise, output_dir, show=True):
        super().__init__()
        self.noise = np.asarray(noise, dtype=np.float32)
        self.output_dir = Path(output_dir)
        self.show = show
        self._display = None

    def frame_path(self, epoch_number):
        return self.output_dir / f"epoch_{epoch_number:04d}.png"

    def on_epoch_end(self, epoch, logs=None):
        images = self.model.generator(self.noise, training=False)
        path = save_image_grid(keras.ops.convert_to_numpy(images), self.frame_path(epoch + 1))
        if self.show:
            self._show(path)

    def _show(self, path):
        from IPython.display import Image, display

        if self._display is None:
            self._display = display(Image(filename=str(path)), display_id=True)
        else:
            self._display.update(Image(filename=str(path)))


class CheckpointMismatchError(ValueError):
    """A checkpoint folder holds weights of a different model."""


class GANCheckpoint:
    """Saves and restores a compiled ``GAN``: both networks, both optimizers and the epoch counter.

    ``restore_latest()`` returns the epoch to continue from (0 when the folder has no checkpoint),
    ready to pass to ``fit(initial_epoch=...)``.
    """

    def __init__(self, gan, directory, max_to_keep=3):
        self.gan = gan
        self.directory = Path(directory)
        # Optimizer slots are created lazily; build them so a restore has variables to fill.
        for optimizer, network in ((gan.generator_optimizer, gan.generator), (gan.discriminator_optimizer, gan.discriminator)):
            if not optimizer.built:
                optimizer.build(network.trainable_variables)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.checkpoint = tf.train.Checkpoint(
            generator=gan.generator, discriminator=gan.discriminator,
            generator_optimizer=gan.generator_optimizer, discriminator_optimizer=gan.discriminator_optimizer,
            epoch=self.epoch,
        )
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.directory), max_to_keep=max_to_keep)

    def save(self, epoch_number):
        """Save after ``epoch_number`` completed epochs; returns the checkpoint's path prefix."""
        self.epoch.assign(epoch_number)
        return self.manager.save(checkpoint_number=epoch_number)

    def restore_latest(self):
        """Restore the newest checkpoint, if any; returns the number of completed epochs it holds."""
        path = self.manager.latest_checkpoint
        if path is None:
            return 0
        try:
            self.checkpoint.restore(path).assert_existing_objects_matched()
        except (ValueError, AssertionError) as error:
            raise CheckpointMismatchError(
                f"The checkpoint {path} does not fit this GAN: it was saved from a different architecture "
                f"({str(error).splitlines()[0][:200]}). Use another output folder, or delete {self.directory} "
                "to start training from scratch."
            ) from None
        return int(self.epoch.numpy())


class CheckpointCallback(keras.callbacks.Callback):
    """Save a :class:`GANCheckpoint` every ``every_n_epochs`` epochs and once more at the end of training."""

    def __init__(self, gan_checkpoint, every_n_epochs=15):
        super().__init__()
        if int(every_n_epochs) < 1:
            raise ValueError(f"every_n_epochs must be a positive integer, got {every_n_epochs}.")
        self.gan_checkpoint = gan_checkpoint
        self.every_n_epochs = int(every_n_epochs)
        self._last_epoch = None
        self._last_saved = None

    def on_epoch_end(self, epoch, logs=None):
        self._last_epoch = epoch + 1
        if self._last_epoch % self.every_n_epochs == 0:
            self.gan_checkpoint.save(self._last_epoch)
            self._last_saved = self._last_epoch

    def on_train_end(self, logs=None):
        if self._last_epoch is not None and self._last_saved != self._last_epoch:
            self.gan_checkpoint.save(self._last_epoch)
            self._last_saved = self._last_epoch


class GeneratorEMA(keras.callbacks.Callback):
    """Keep an exponential moving average (EMA) of the generator's weights, for sampling.

    After every training batch: ``ema = decay * ema + (1 - decay) * weights`` (BatchNorm statistics
    included), with the decay warmed up as ``min(decay, (1 + step) / (10 + step))`` so short runs are
    not dominated by the random initial weights. Sample from ``callback.ema_generator`` (a clone of
    ``gan.generator``); training itself is unchanged. Measured in notebook 06 and benchmarks/.
    """

    def __init__(self, decay=0.999):
        super().__init__()
        if not 0.0 <= float(decay) < 1.0:
            raise ValueError(f"decay must be in [0, 1), e.g. 0.999, got {decay}.")
        self.decay = float(decay)
        self.ema_generator = None
        self.step = 0

    def on_train_begin(self, logs=None):
        if self.ema_generator is None:
            self.ema_generator = keras.models.clone_model(self.model.generator)
            self.ema_generator.set_weights(self.model.generator.get_weights())

    def on_train_batch_end(self, batch, logs=None):
        decay = min(self.decay, (1.0 + self.step) / (10.0 + self.step))
        for average, weight in zip(self.ema_generator.weights, self.model.generator.weights):
            average.assign(decay * average + (1.0 - decay) * weight)
        self.step += 1
