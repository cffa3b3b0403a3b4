"""Drawn stand-ins for CelebA (no real faces): the test suite has no network and no CelebA.

Imported by tests/test_celeba.py and by the root conftest.py, which writes a folder of them at import
time for notebook 05's test run (GAN_CELEBA_DIR).
"""

from pathlib import Path

import numpy as np


def write_synthetic_faces(folder, count=8, seed=0, size=(178, 218), corrupt=0):
    """Write ``count`` drawn face-like RGB JPEGs (NOT real faces) of CelebA's size into ``folder``.

    For the tests, and the folder the root conftest.py gives notebook 05's test run (the suite has no
    CelebA): a skin-toned oval with eyes, brows, mouth and hair on a coloured background, each with
    random colours and position.
    ``corrupt`` extra files named ``corrupt_N.jpg`` hold bytes that are not an image, to show the
    loader skipping them. Returns the list of paths written. ``size`` is (width, height).
    """
    from PIL import Image, ImageDraw

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    width, height = size
    paths = []
    for index in range(int(count)):
        background = tuple(int(v) for v in rng.integers(40, 220, 3))
        image = Image.new("RGB", (width, height), background)
        draw = ImageDraw.Draw(image)
        cx, cy = width / 2 + rng.uniform(-6, 6), height / 2 + rng.uniform(-4, 8)
        face_w, face_h = rng.uniform(30, 40), rng.uniform(40, 50)
        hair = tuple(int(v) for v in rng.integers(10, 120, 3))
        skin = tuple(int(v) for v in (rng.uniform(150, 240), rng.uniform(110, 190), rng.uniform(90, 160)))
        draw.ellipse([cx - face_w - 6, cy - face_h - 10, cx + face_w + 6, cy + face_h * 0.4], fill=hair)
        draw.ellipse([cx - face_w, cy - face_h, cx + face_w, cy + face_h], fill=skin)
        for side in (-1, 1):
            eye_x, eye_y = cx + side * face_w * 0.4, cy - face_h * 0.15
            draw.ellipse([eye_x - 5, eye_y - 3, eye_x + 5, eye_y + 3], fill=(250, 250, 250))
            draw.ellipse([eye_x - 2, eye_y - 2, eye_x + 2, eye_y + 2], fill=(40, 30, 20))
            draw.line([eye_x - 7, eye_y - 8, eye_x + 7, eye_y - 9], fill=hair, width=3)
        mouth_y = cy + face_h * 0.45
        draw.arc([cx - 12, mouth_y - 6, cx + 12, mouth_y + 6], 20, 160, fill=(150, 40, 50), width=3)
        path = folder / f"synthetic_{index:03d}.jpg"
        image.save(path, quality=90)
        paths.append(path)
    for index in range(int(corrupt)):
        path = folder / f"corrupt_{index}.jpg"
        path.write_bytes(b"this is not a JPEG image" + bytes(rng.integers(0, 256, 64, dtype=np.uint8)))
        paths.append(path)
    return paths
