"""A checkpoint records the settings it was trained with; resuming it with other ones says so.

Notebook 02 tells the reader to change LEARNING_RATE, BETA_1 and REAL_LABEL to train as the article does; with
RESUME = True the rerun restores the finished run. It must not then show the old run as if it were the new one.
"""

import json
import warnings

import pytest

from gan_utils import callbacks
from tests.test_callbacks import tiny_dataset, tiny_gan

ARTICLE = {"learning_rate": 1e-4, "beta_1": 0.9, "real_label": 1.0}
DEFAULTS = {"learning_rate": 2e-4, "beta_1": 0.5, "real_label": 0.9}


def train(directory, settings, epochs, resume=True):
    gan = tiny_gan()
    checkpoint = callbacks.GANCheckpoint(gan, directory, settings=settings)
    initial_epoch = checkpoint.start(epochs, resume=resume)
    gan.fit(tiny_dataset(1), epochs=epochs, initial_epoch=initial_epoch, verbose=0,
            shuffle=False, callbacks=[callbacks.CheckpointCallback(checkpoint)])
    return checkpoint


def test_the_settings_are_saved_with_the_first_epoch_trained_with_them(tmp_path):
    train(tmp_path, DEFAULTS, 2)
    assert json.loads((tmp_path / "settings.json").read_text()) == [{"from_epoch": 1, "settings": DEFAULTS}]
    with warnings.catch_warnings():
        warnings.simplefilter("error", callbacks.CheckpointSettingsWarning)  # the same settings: no warning
        train(tmp_path, DEFAULTS, 3)
    assert json.loads((tmp_path / "settings.json").read_text()) == [{"from_epoch": 1, "settings": DEFAULTS}]


def test_resuming_with_other_settings_warns_names_them_and_records_where_they_start(tmp_path):
    train(tmp_path, DEFAULTS, 2)
    with pytest.warns(callbacks.CheckpointSettingsWarning,
                      match=r"learning_rate=0\.0002 \(this run: 0\.0001\), beta_1=0\.5 \(this run: 0\.9\), "
                            r"real_label=0\.9 \(this run: 1\.0\)\. Epochs after 2 use this run's settings.*RESUME = False"):
        train(tmp_path, ARTICLE, 3)
    assert json.loads((tmp_path / "settings.json").read_text()) == [
        {"from_epoch": 1, "settings": DEFAULTS}, {"from_epoch": 3, "settings": ARTICLE}]


def test_nothing_left_to_train_with_other_settings_says_the_pictures_are_not_of_them(tmp_path, capsys):
    train(tmp_path, DEFAULTS, 2)
    capsys.readouterr()
    with pytest.warns(callbacks.CheckpointSettingsWarning):
        epoch = callbacks.GANCheckpoint(tiny_gan(), tmp_path, settings=ARTICLE).start(2)
    printed = capsys.readouterr().out
    assert epoch == 2 and "Nothing left to train" in printed
    assert "Its last epochs were trained with learning_rate=0.0002 (this run: 0.0001)" in printed
    assert "until you set RESUME = False" in printed


def test_a_new_setting_or_a_dropped_one_counts_as_a_change(tmp_path):
    train(tmp_path, DEFAULTS, 1)
    with pytest.warns(callbacks.CheckpointSettingsWarning, match=r"ema=None \(this run: True\)"):
        callbacks.GANCheckpoint(tiny_gan(), tmp_path, settings={**DEFAULTS, "ema": True}).restore_latest()
    with pytest.warns(callbacks.CheckpointSettingsWarning, match=r"real_label=0\.9 \(this run: None\)"):
        callbacks.GANCheckpoint(tiny_gan(), tmp_path, settings={"learning_rate": 2e-4, "beta_1": 0.5}).restore_latest()


def test_resuming_from_an_earlier_checkpoint_compares_with_the_settings_of_that_epoch(tmp_path):
    """Epochs 1-2 with the defaults, 3-4 with the article's; checkpoints 3 and 4 damaged, the restore of epoch 2
    compares with the defaults."""
    train(tmp_path, DEFAULTS, 2)
    with pytest.warns(callbacks.CheckpointSettingsWarning):
        train(tmp_path, ARTICLE, 4)
    for damaged in [*tmp_path.glob("ckpt-3.data*"), *tmp_path.glob("ckpt-4.data*")]:
        damaged.write_bytes(b"")
    checkpoint = callbacks.GANCheckpoint(tiny_gan(), tmp_path, settings=DEFAULTS)
    with pytest.warns(UserWarning, match="Skipping the damaged checkpoint"), warnings.catch_warnings():
        warnings.simplefilter("error", callbacks.CheckpointSettingsWarning)
        assert checkpoint.restore_latest() == 2


def test_without_settings_nothing_is_checked_or_written(tmp_path):
    """Restoring only, as notebook 02's check and notebook 06 do, needs no settings and gets no warning."""
    train(tmp_path, DEFAULTS, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", callbacks.CheckpointSettingsWarning)
        checkpoint = callbacks.GANCheckpoint(tiny_gan(), tmp_path)
        assert checkpoint.restore_latest() == 1
        checkpoint.save(2)
    assert json.loads((tmp_path / "settings.json").read_text()) == [{"from_epoch": 1, "settings": DEFAULTS}]


def test_starting_from_scratch_forgets_the_old_settings(tmp_path):
    train(tmp_path, DEFAULTS, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", callbacks.CheckpointSettingsWarning)
        train(tmp_path, ARTICLE, 1, resume=False)
    assert json.loads((tmp_path / "settings.json").read_text()) == [{"from_epoch": 1, "settings": ARTICLE}]
