"""gan_utils: the code the GAN notebook series has shown, kept for the notebooks that come after.

A notebook cell that starts with ``#@save gan_utils.MODULE`` is the same code as the function or class
of that name in ``gan_utils/MODULE.py`` (tests/test_saved_cells.py checks it). The rest is what the
notebooks use around the models: data, pictures, checkpoints and metrics.

- ``models``    - notebook 02's DCGAN; loading a saved generator safely
- ``losses``    - notebook 02's binary cross-entropy losses on logits
- ``training``  - notebook 01's ``VanillaGAN`` (k discriminator steps), notebook 02's ``GAN``, ``DistributedGAN``
- ``callbacks`` - a sample grid per epoch, checkpoints to resume from, a generator average, divergence checks
- ``data``      - MNIST / Fashion-MNIST in [-1, 1], the shipped offline images, tf.data pipelines
- ``viz``       - image grids, loss and D-output curves, GIF export
- ``hardware``  - version check, GPUs, the precision that suits the machine
- ``metrics``   - FID / KID / classifier score with a small domain classifier, no download (notebook 06)
- ``augment``   - notebook 10's DiffAugment: random translation and cutout, per image, gradients kept
"""

__version__ = "0.2.0"
