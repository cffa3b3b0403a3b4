"""gan_utils: the small helper package behind the GAN tutorial notebooks.

One module per concern, each function short enough to copy into coursework:

- ``hardware``  - TensorFlow/Keras versions, GPU check, memory growth, mixed precision (notebooks 02, 05)
- ``data``      - MNIST / Fashion-MNIST in [-1, 1], the shipped offline digits, tf.data pipelines (02)
- ``models``    - the articles' generators and discriminators (01, 02, 04)
- ``losses``    - GAN binary cross-entropy, from logits or from probabilities (02)
- ``training``  - ``GAN``, a ``keras.Model`` whose ``train_step`` uses ``tf.GradientTape``, with k D steps (01, 02)
- ``callbacks`` - a sample grid after every epoch, checkpoints that a later run resumes from (02)
- ``viz``       - image grids, loss and D-output curves, GIF export, ``combine_images`` (02, 04)
- ``sampling``  - uniform noise, ``generate(nice=True)``: keep the samples D scores highest (04)
- ``reproducibility`` - one seed switch for repeatable runs (02)
- ``metrics``   - FID / KID / classifier score with a cached domain classifier, no download (06)
"""

__version__ = "0.1.0"
