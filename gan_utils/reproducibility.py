"""One switch for repeatable runs: the same seed gives the same weights, noise, data order and pictures.

Taught in notebook 02 ("Parameters").
"""

import keras
import tensorflow as tf


def set_seed(seed, deterministic=True):
    """Seed every random generator a notebook uses, and make TensorFlow's ops deterministic.

    ``keras.utils.set_random_seed(seed)`` seeds Python's ``random``, NumPy, TensorFlow and Keras (weight
    initialisers, ``keras.random``, ``tf.data`` shuffles without their own seed). With ``deterministic``,
    ``tf.config.experimental.enable_op_determinism()`` also makes ops that add up in a varying order
    (multi-threaded reductions, some GPU kernels) repeat exactly, and makes parallel ``tf.data`` stages keep
    their order. On a GPU that costs some speed, and Keras then compiles without XLA (``jit_compile``),
    with only a warning; TensorFlow has no public switch to turn it back off, so
    restart the kernel and pass ``deterministic=False`` for speed. Call it before building datasets and models.
    """
    keras.utils.set_random_seed(int(seed))
    if deterministic:
        tf.config.experimental.enable_op_determinism()
