"""Keras callbacks for GAN training: a sample grid after every epoch, checkpoints, divergence checks.

Taught in notebook 02 ("Train" and "Restore the latest checkpoint"). Everything written to disk
(frames, loss history, checkpoints) is written to a temporary name and then renamed, so a run
killed at any moment leaves either the old file or the new one, never half of one; run the same
code again and it continues after the last checkpoint.
"""

import json
import math
import os
import shutil
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from gan_utils.viz import save_image_grid


def replace_atomically(path, write):
    """Call ``write(temporary_path)``, then rename the temporary file to ``path``; returns ``path``.

    A rename within one folder is atomic: a process killed meanwhile leaves the previous ``path``
    (or none) intact, plus at worst a hidden ``.NAME.partial.EXT`` file that the next write reuses.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.partial{path.suffix}")
    write(temporary)
    os.replace(temporary, path)
    return path


class SampleGridCallback(keras.callbacks.Callback):
    """After every epoch, draw images from one fixed noise batch and save them as a PNG grid.

    Fixed noise makes the frames comparable: the same "seed" digit improving epoch by epoch.
    ``generator_inputs``: the noise (N, latent_dim), or a list of what a generator with several inputs
    takes (notebook 07's: ``[noise, labels]``). ``n_cols``: images per row (default: a square grid).
    Frames are ``output_dir/epoch_0001.png``, ... (numbered from 1), written atomically; a resumed
    run overwrites the frames of epochs it repeats, so :meth:`saved_frames` has each epoch once.
    With ``show``, the latest grid is shown in the notebook, updated in place.
    """

    def __init__(self, generator_inputs, output_dir, show=True, n_cols=None):
        super().__init__()
        self.generator_inputs, self.output_dir, self.show, self.n_cols = generator_inputs, Path(output_dir), show, n_cols
        self._display = None

    def frame_path(self, epoch_number):
        return self.output_dir / f"epoch_{epoch_number:04d}.png"

    def saved_frames(self, last_epoch=None):
        """Paths of the saved frames of epochs 1 to ``last_epoch`` (default: all), in epoch order, for ``write_gif``."""
        numbers = sorted(int(path.stem.split("_")[1]) for path in self.output_dir.glob("epoch_[0-9]*.png"))
        return [self.frame_path(number) for number in numbers if last_epoch is None or number <= last_epoch]

    def save_frame(self, epoch_number):
        """Draw the grid for the fixed noise and save it as the frame of ``epoch_number``; returns its path."""
        images = keras.ops.convert_to_numpy(self.model.generator(self.generator_inputs, training=False))
        return replace_atomically(self.frame_path(epoch_number), lambda temporary: save_image_grid(images, temporary, self.n_cols))

    def on_epoch_begin(self, epoch, logs=None):
        # Resuming after ``epoch`` completed epochs: their last frame may be missing if the run was
        # killed between the checkpoint and the frame. The restored weights draw it exactly.
        if epoch > 0 and not self.frame_path(epoch).exists():
            self.save_frame(epoch)

    def on_epoch_end(self, epoch, logs=None):
        path = self.save_frame(epoch + 1)
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


class CheckpointSettingsWarning(UserWarning):
    """A checkpoint is resumed with other training settings (learning rate, label smoothing, ...) than it was trained with."""


class CheckpointDamagedError(RuntimeError):
    """No checkpoint in a folder can be read: every one has truncated or missing files."""


class GANCheckpoint:
    """Saves and restores a compiled GAN: both networks, both optimizers, the epoch and the loss history.

    ``ema``: a :class:`GeneratorEMA` callback, whose averaged generator is saved and restored too.
    ``run_info``: what the run trains on (e.g. ``{"data": "keras", "latent_dim": 100}``), saved beside the
    checkpoints; a later run that differs is refused rather than continued on other data. The per-epoch
    logs (``history``, like ``keras.callbacks.History.history``) are saved in ``history.json``, so a resumed
    run's loss curves continue those of the interrupted one. :meth:`start` is what a notebook calls.
    ``settings``: how the run trains (e.g. ``{"learning_rate": 2e-4, "beta_1": 0.5}``), saved in ``settings.json``
    with the first epoch trained with them. Resuming with other settings warns (:class:`CheckpointSettingsWarning`)
    rather than refuses, so that a lower learning rate after a divergence can take over; when the checkpoint
    already holds every epoch, :meth:`start` also says that what follows shows the old settings.
    """

    def __init__(self, gan, directory, max_to_keep=3, ema=None, run_info=None, settings=None):
        self.gan = gan
        self.directory = Path(directory)
        self.history_path = self.directory / "history.json"
        self.run_info_path = self.directory / "run.json"
        self.settings_path = self.directory / "settings.json"
        # Optimizer slots are created lazily; build them so a restore has variables to fill.
        for optimizer, network in ((gan.generator_optimizer, gan.generator), (gan.discriminator_optimizer, gan.discriminator)):
            if not network.built:  # an optimizer built on no variables fails at the first step ("Unknown variable")
                raise ValueError(f"GANCheckpoint needs built networks, and {network.name} has no weights yet: start it with "
                                 "keras.Input(shape=...), as this series' models do, or call it on one batch first.")
            if not optimizer.built:
                optimizer.build(network.trainable_variables)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        saved = dict(generator=gan.generator, discriminator=gan.discriminator, generator_optimizer=gan.generator_optimizer,
                     discriminator_optimizer=gan.discriminator_optimizer, epoch=self.epoch)
        if ema is not None:  # a GeneratorEMA callback: its average and step count are saved too
            saved.update(ema_generator=ema.build(gan.generator), ema_step=ema.step)
        self.checkpoint = tf.train.Checkpoint(**saved)
        self.max_to_keep = max_to_keep
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.directory), max_to_keep=max_to_keep)
        self.run_info = json.loads(json.dumps(run_info or {}))  # as it reads back from JSON: tuples become lists
        self.settings = None if settings is None else json.loads(json.dumps(settings))  # None: neither saved nor checked
        # history: name -> one value per completed epoch, across interrupted and resumed runs;
        # settings_log: [{"from_epoch": first epoch trained with them, "settings": {...}}, ...];
        # changed_settings: what differs from the restored checkpoint's settings, described ("" if nothing).
        self.history, self.settings_log, self.changed_settings, self._restored_epoch = {}, [], "", 0

    def record_epoch(self, epoch_number, logs):
        """Store the logs of epoch ``epoch_number`` (1, 2, ...) in ``history``, replacing that epoch and any later one."""
        for name, value in (logs or {}).items():
            values = self.history.setdefault(name, [])
            del values[epoch_number - 1:]
            values.append(float(value))

    def save(self, epoch_number):
        """Save after ``epoch_number`` completed epochs; returns the checkpoint's path prefix.

        Each file is written under a temporary name and renamed, the history first: if the run is killed
        between the writes, the next restore trims the history back to the checkpoint's epoch.
        ``CheckpointManager`` writes the checkpoint files before it points its ``checkpoint`` file at them.
        """
        history = {name: values[:epoch_number] for name, values in self.history.items()}
        replace_atomically(self.history_path, lambda temporary: temporary.write_text(json.dumps(history, indent=1)))
        replace_atomically(self.run_info_path, lambda temporary: temporary.write_text(json.dumps(self.run_info)))
        if self.settings is not None:  # settings_log holds the restored epochs' entries, and this run's once added
            if not self.settings_log or self.settings_log[-1]["settings"] != self.settings:
                self.settings_log.append({"from_epoch": self._restored_epoch + 1, "settings": self.settings})
            replace_atomically(self.settings_path,
                               lambda temporary: temporary.write_text(json.dumps(self.settings_log, indent=1)))
        self.epoch.assign(epoch_number)
        return self.manager.save(checkpoint_number=epoch_number)

    def _check_settings(self, epoch):
        """Read the settings the restored ``epoch`` epochs were trained with; warn if this run's differ."""
        if self.settings is None or not self.settings_path.exists():
            return
        self.settings_log = [entry for entry in json.loads(self.settings_path.read_text()) if entry["from_epoch"] <= epoch]
        saved = self.settings_log[-1]["settings"] if self.settings_log else self.settings  # none recorded: no change
        self.changed_settings = ", ".join(f"{key}={saved.get(key)!r} (this run: {self.settings.get(key)!r})"
                                          for key in {**saved, **self.settings} if saved.get(key) != self.settings.get(key))
        if self.changed_settings:
            warnings.warn(
                f"The checkpoint in {self.directory} was trained with {self.changed_settings}. Epochs after {epoch} "
                "use this run's settings, so the result mixes both; to train with them only, start from scratch "
                "(RESUME = False in the notebook's parameters).", CheckpointSettingsWarning, stacklevel=3)

    def restore_latest(self):
        """Restore the newest checkpoint, if any; returns the number of completed epochs it holds (0 for none).

        Raises :class:`CheckpointMismatchError` for checkpoints of another architecture or another ``run_info``.
        A damaged checkpoint (a truncated or missing file) is skipped, with a warning, for the one before it;
        :class:`CheckpointDamagedError` if none can be read. The learning rates the GAN was compiled with are kept.
        """
        self.history, self.settings_log, self.changed_settings, self._restored_epoch = {}, [], "", 0
        paths = list(reversed(self.manager.checkpoints))  # newest first
        if paths and self.run_info_path.exists():  # checkpoints of another run_info are refused
            saved = json.loads(self.run_info_path.read_text())
            described = ", ".join(f"{key}={saved[key]!r} (this run: {value!r})"
                                  for key, value in self.run_info.items() if key in saved and saved[key] != value)
            if described:
                raise CheckpointMismatchError(
                    f"The checkpoints in {self.directory} were trained with {described}. Continuing them would mix "
                    f"two runs: start from scratch (RESUME = False in the notebook's parameters, or delete "
                    f"{self.directory}), or use another GAN_OUTPUT_DIR.")
        # An optimizer's learning rate is a variable saved in the checkpoint; keep the one this run
        # was compiled with, so that lowering it after a divergence takes effect on resume.
        learning_rates = [(optimizer, float(optimizer.learning_rate))
                          for optimizer in (self.gan.generator_optimizer, self.gan.discriminator_optimizer)
                          if isinstance(getattr(optimizer, "_learning_rate", None), keras.Variable)]
        for path in paths:
            try:
                # expect_partial: no log lines about unmatched values if the check after it refuses the checkpoint
                self.checkpoint.restore(path).expect_partial().assert_existing_objects_matched()
            except (ValueError, AssertionError) as error:
                raise CheckpointMismatchError(
                    f"The checkpoint {path} does not fit this GAN: it was saved from a different architecture "
                    f"({str(error).splitlines()[0][:200]}). Use another output folder, or delete {self.directory} "
                    "to start training from scratch.") from None
            except (tf.errors.OpError, IndexError, OSError) as error:
                warnings.warn(f"Skipping the damaged checkpoint {path} ({type(error).__name__}: "
                              f"{str(error).splitlines()[0][:200]}); trying the one before it.", stacklevel=2)
                continue
            for optimizer, learning_rate in learning_rates:
                optimizer.learning_rate = learning_rate
            epoch = self._restored_epoch = int(self.epoch.numpy())
            self._check_settings(epoch)
            saved = json.loads(self.history_path.read_text()) if self.history_path.exists() else {}
            self.history = {name: values[:epoch] for name, values in saved.items()}
            return epoch
        if paths:
            raise CheckpointDamagedError(
                f"None of the {len(paths)} checkpoints in {self.directory} can be read (damaged or missing files). "
                f"Delete {self.directory} to start training from scratch.")
        return 0

    def start(self, epochs, resume=True):
        """Where a run of ``epochs`` epochs starts: after the latest checkpoint (``resume``), or from scratch.

        Returns the epoch to pass to ``fit(initial_epoch=...)`` and prints what happens, including when the
        checkpoint already holds ``epochs`` epochs and there is nothing left to train. ``resume=False`` deletes
        this folder's checkpoints and history first.
        """
        if not resume and self.directory.exists():
            shutil.rmtree(self.directory)
            self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.directory), max_to_keep=self.max_to_keep)
            print(f"RESUME = False: deleted the old checkpoints in {self.directory}.")
        epoch = self.restore_latest()
        if epoch == 0:
            print(f"Starting from scratch; checkpoints go to {self.directory}.")
        elif epoch < epochs:
            print(f"Continuing after epoch {epoch} of {epochs} (checkpoint in {self.directory}).")
        else:
            print(f"Nothing left to train: the checkpoint in {self.directory} already holds {epoch} epochs (EPOCHS = "
                  f"{epochs}). The pictures below are that run's. Raise EPOCHS to train more, or set RESUME = False "
                  "to train from scratch with the current parameters.")
            if self.changed_settings:
                print(f"Its last epochs were trained with {self.changed_settings}: nothing below shows this run's "
                      "settings until you set RESUME = False.")
        return epoch


class CheckpointCallback(keras.callbacks.Callback):
    """Save a :class:`GANCheckpoint` after every epoch, with the epoch's logs in ``gan_checkpoint.history``.

    An interruption loses at most the epoch it stopped. An epoch whose logs hold a NaN or an infinity is
    never saved, so a diverged run cannot overwrite the last good checkpoint.
    """

    def __init__(self, gan_checkpoint):
        super().__init__()
        self.gan_checkpoint = gan_checkpoint

    def on_epoch_end(self, epoch, logs=None):
        if all(math.isfinite(float(value)) for value in (logs or {}).values()):  # else diverged: keep the last good one
            self.gan_checkpoint.record_epoch(epoch + 1, logs)
            self.gan_checkpoint.save(epoch + 1)


class TrainingDivergedError(RuntimeError):
    """A loss became NaN or infinite: the weights are lost and training cannot go on."""


class GANTrainingWarning(UserWarning):
    """Training goes on but is unlikely to improve: the discriminator has won, or the generator collapsed."""


def sample_diversity(images):
    """How different images (N, H, W, C) are from each other: per-pixel std across the N images / overall std.

    About 0.5 for MNIST digits (and for an untrained generator's faint noise); 0 when all N images
    are the same, whatever their contrast. Used to spot a collapsed generator.
    """
    images = np.asarray(images, dtype=np.float64)
    return float(images.std(axis=0).mean() / (images.std() + 1e-12))


class DivergenceMonitor(keras.callbacks.Callback):
    """Stop on a NaN or infinite loss; warn when the discriminator wins outright or the generator collapses.

    Reads the ``GAN``'s logs after every step (``d_loss``, ``g_loss``, ``fake_score`` = mean D(G(z))), or
    after every ``steps_per_execution`` steps, their mean over those steps:

    - ``d_loss`` or ``g_loss`` NaN or infinite: raises :class:`TrainingDivergedError` naming the epoch,
      the step and the likely causes. Raising also keeps ``CheckpointCallback`` from saving.
    - ``fake_score`` below ``fake_score_floor`` for ``patience_steps`` steps in a row: the discriminator
      rejects every fake and the generator gets no useful gradient; a :class:`GANTrainingWarning`.
    - after every epoch, the generator's images for ``num_samples`` different noise vectors have a
      :func:`sample_diversity` below ``diversity_floor`` (0 switches this check off): the generator collapsed;
      a warning. A generator with several inputs gets ``generator_inputs`` (notebook 07's: ``[noise, labels]``)
      instead.
    - with a domain ``classifier`` (``metrics.load_domain_classifier``), after every epoch: the classes it reads,
      with at least ``min_confidence`` probability, in ``num_class_samples`` generated images; fewer than half of
      the classes drawn (:func:`metrics.effective_classes` below ``num_classes / 2``): mode collapse onto a few
      classes, which pixel diversity misses; a warning naming the classes. Silent while fewer than half of the
      images can be read, and before the generator's ``class_check_after_steps``-th step (its optimizer's
      ``iterations``): early training draws blobs, which the classifier may read as one digit. For a generator of
      noise alone (not notebook 07's).
    """

    def __init__(self, patience_steps=100, fake_score_floor=0.05, diversity_floor=0.05, num_samples=16, seed=0,
                 generator_inputs=None, classifier=None, num_class_samples=500, min_confidence=0.9, class_check_after_steps=200):
        super().__init__()
        if int(patience_steps) < 1:
            raise ValueError(f"patience_steps must be a positive integer, got {patience_steps}.")
        self.patience_steps, self.fake_score_floor, self.diversity_floor = int(patience_steps), float(fake_score_floor), float(diversity_floor)
        self.num_samples, self.seed, self.generator_inputs = int(num_samples), seed, generator_inputs
        self.classifier, self.num_class_samples, self.min_confidence = classifier, int(num_class_samples), float(min_confidence)
        self.class_check_after_steps = int(class_check_after_steps)

    def on_train_begin(self, logs=None):
        if self.generator_inputs is None:
            latent_dim = self.model.generator.input_shape[-1]
            self.generator_inputs = np.random.default_rng(self.seed).normal(size=(self.num_samples, latent_dim)).astype("float32")
        self._losing_steps, self._losing_since_g_loss = 0, None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1
        self._sums = {"steps": 0, "fake_score": 0.0, "g_loss": 0.0}  # sums over this epoch up to the last call

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        steps = batch + 1  # Keras passes the index of the last step run in this epoch
        for name in ("d_loss", "g_loss"):
            if name in logs and not math.isfinite(float(logs[name])):
                raise TrainingDivergedError(
                    f"Training diverged: {name} became {float(logs[name])} at epoch {self._epoch}, step {steps}, "
                    "so the weights now hold NaN or infinite values and training was stopped. Likely causes: "
                    "a learning rate too high for this model (the DCGAN articles use Adam at 1e-4 to 2e-4; try "
                    "ten times lower), or training images not scaled to [-1, 1] (check them with "
                    "gan_utils.data.check_images; gan_utils.data.to_unit_range scales [0, 255] pixels). Fix the "
                    "cause and run again: training continues from the last checkpoint saved before the NaN, "
                    "with the learning rates you compiled.") from None
        if "fake_score" in logs and "g_loss" in logs:
            self._check_discriminator_wins(logs, steps)

    def _check_discriminator_wins(self, logs, steps):
        """Count the steps in a row with ``fake_score`` below the floor; warn once a streak reaches ``patience_steps``.

        ``logs`` hold means over the epoch so far: undoing the averaging gives the mean of the ``new_steps`` steps
        since the last call (one, or ``steps_per_execution``).
        """
        sums = {"steps": steps, "fake_score": float(logs["fake_score"]) * steps, "g_loss": float(logs["g_loss"]) * steps}
        new_steps = max(steps - self._sums["steps"], 1)
        fake_score, g_loss = ((sums[name] - self._sums[name]) / new_steps for name in ("fake_score", "g_loss"))
        self._sums = sums
        if fake_score >= self.fake_score_floor:
            self._losing_steps, self._losing_since_g_loss = 0, None
            return
        self._losing_since_g_loss = self._losing_since_g_loss if self._losing_steps else g_loss
        self._losing_steps += new_steps
        if self._losing_steps - new_steps < self.patience_steps <= self._losing_steps:  # once per streak
            warnings.warn(
                f"The discriminator has won: D(G(z)) stayed below {self.fake_score_floor} for {self.patience_steps} "
                f"steps (epoch {self._epoch}, step {steps}; g_loss went from {self._losing_since_g_loss:.2f} to "
                f"{g_loss:.2f}). It rejects every generated image, so the generator learns little. Try a lower "
                "discriminator learning rate, one-sided label smoothing, or check that real images are in [-1, 1] "
                "like the generator's tanh output.", GANTrainingWarning, stacklevel=2)

    def on_epoch_end(self, epoch, logs=None):
        if self.classifier is not None and int(self.model.generator_optimizer.iterations) >= self.class_check_after_steps:
            self._check_classes(epoch)
        images = keras.ops.convert_to_numpy(self.model.generator(self.generator_inputs, training=False))
        diversity = sample_diversity(images)
        if diversity < self.diversity_floor:
            warnings.warn(
                f"The generator may have collapsed: after epoch {epoch + 1} its images for {len(images)} "
                f"different noise vectors are nearly identical (diversity {diversity:.3f} < {self.diversity_floor}). "
                "Training rarely recovers from this; restart from an earlier checkpoint with lower learning rates, "
                "or a discriminator that trains less.", GANTrainingWarning, stacklevel=2)

    def _check_classes(self, epoch):
        from gan_utils.metrics import classifier_outputs, effective_classes, generate_images

        _, probabilities = classifier_outputs(self.classifier, generate_images(self.model.generator, self.num_class_samples, self.seed))
        readable = probabilities.max(axis=1) >= self.min_confidence
        if readable.mean() < 0.5:  # mostly shapes the classifier cannot read yet: too early to count classes
            return
        shares = np.bincount(probabilities[readable].argmax(axis=1), minlength=probabilities.shape[1]) / readable.sum()
        effective = effective_classes(shares)
        if effective < len(shares) / 2:
            drawn = ", ".join(f"{label}: {share:.0%}" for label, share in sorted(enumerate(shares), key=lambda pair: -pair[1])[:3])
            warnings.warn(
                f"Mode collapse: after epoch {epoch + 1} the classifier reads only {effective:.1f} of {len(shares)} classes in "
                f"the {readable.sum()} of {self.num_class_samples} generated images it can read (most common: {drawn}). The "
                "generator draws a few classes well and ignores the rest. Try an earlier checkpoint, more training images "
                "(a few seen many times invite this), a lower generator learning rate, or one-sided label smoothing.",
                GANTrainingWarning, stacklevel=2)


class GeneratorEMA(keras.callbacks.Callback):
    """Keep an exponential moving average (EMA) of the generator's weights, for sampling.

    After every training step: ``ema = decay * ema + (1 - decay) * weights`` (BatchNorm statistics
    included), with the decay warmed up as ``min(decay, (1 + step) / (10 + step))`` so short runs are
    not dominated by the random initial weights. Sample from ``callback.ema_generator`` (a clone of
    ``gan.generator``); training itself is unchanged. Measured in notebook 06 and benchmarks/; used by
    notebook 02. Pass the callback to ``GANCheckpoint(..., ema=callback)`` to save and resume the average.

    With ``steps_per_execution=n`` Keras calls back once per ``n`` steps: the average then takes the
    ``n`` steps at once (the decays of all ``n`` applied to the weights at the end of the ``n``-th step).
    """

    def __init__(self, decay=0.999):
        super().__init__()
        if not 0.0 <= float(decay) < 1.0:
            raise ValueError(f"decay must be in [0, 1), e.g. 0.999, got {decay}.")
        self.decay = float(decay)
        self.ema_generator = None
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False)  # steps averaged so far (checkpointed)

    def build(self, generator):
        """Create ``ema_generator``, a copy of ``generator``, if there is none yet; returns it.

        ``fit()`` calls this at the start of training; ``GANCheckpoint`` calls it earlier, so that a
        restore has the average's variables to fill.
        """
        if self.ema_generator is None:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
        return self.ema_generator

    def on_train_begin(self, logs=None):
        self.build(self.model.generator)
        if int(self.step.numpy()) == 0:  # nothing averaged yet: start from the weights training starts from
            self.ema_generator.set_weights(self.model.generator.get_weights())
        self._last_iteration = int(self.model.generator_optimizer.iterations.numpy())

    def on_train_batch_end(self, batch, logs=None):
        iteration = int(self.model.generator_optimizer.iterations.numpy())
        new_steps, self._last_iteration = iteration - self._last_iteration, iteration
        first = int(self.step.numpy())  # keep: the share of the old average left after the new steps
        keep = math.prod(min(self.decay, (1.0 + step) / (10.0 + step)) for step in range(first, first + new_steps))
        for average, weight in zip(self.ema_generator.weights, self.model.generator.weights):
            average.assign(keep * average + (1.0 - keep) * weight)
        self.step.assign_add(new_steps)
