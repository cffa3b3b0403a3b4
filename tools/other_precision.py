"""Print the precision this machine would *not* pick, for a test pass that forces it with GAN_PRECISION.

``hardware.recommended_precision()`` gives ``mixed_bfloat16`` on a CPU with bfloat16 instructions and
``float32`` elsewhere, so a plain test run covers one path only. ``.ci/run`` (and the README's Tests section)
run the notebooks that call ``use_recommended_precision()`` a second time with the other one::

    GAN_PRECISION=$(.venv/bin/python tools/other_precision.py) .venv/bin/python -m pytest --nbval-lax ...

On a CPU without bfloat16, TensorFlow emulates it: slower, the same results up to rounding.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from gan_utils import hardware  # noqa: E402

if __name__ == "__main__":
    print("float32" if hardware.recommended_precision() == "mixed_bfloat16" else "mixed_bfloat16")
