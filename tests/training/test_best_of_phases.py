"""The weights that ship are the better phase's, and the card describes them."""

import json
import os

import keras
import numpy as np
import pytest

import tl_keras as tlk
from tests.fixtures.images import random_images
from tests.fixtures.images import small_image_classifier
from tests.fixtures.images import weights_by_path

pytestmark = pytest.mark.slow


def _task():
    images, labels = random_images(32, size=16, seed=3), np.array([0, 1] * 16)
    images[labels == 1, ..., 0] += 90
    return (images[:24], labels[:24]), (images[24:], labels[24:])


class _AtPhase1End(keras.callbacks.Callback):
    """The whole model's weights when phase 1 ends (its first `on_train_end`)."""

    def __init__(self, model):
        super().__init__()
        self.full, self.weights = model, None

    def on_train_end(self, logs=None):
        if self.weights is None:
            self.weights = weights_by_path(self.full)


def _fit(model, keep_best, capsys, callbacks=()):
    train, val = _task()
    history = tlk.fit_two_phase(
        model, train, val, epochs=3, fine_tune_epochs=2, fine_tune_at=0, batch_size=8,
        learning_rate=1e-2, keep_best=keep_best, callbacks=list(callbacks),
        fine_tuning=tlk.FineTuning(learning_rate=30.0, schedule="constant"))
    return history, capsys.readouterr().out


def test_a_phase_2_that_does_worse_is_rolled_back_and_the_card_says_what_ships(tmp_path,
                                                                               capsys):
    model = small_image_classifier(dropout=0.0)
    at_phase1_end = _AtPhase1End(model)
    history, out = _fit(model, True, capsys, [at_phase1_end])
    assert history.stops[1]["rolled_back"] is True
    assert "did not beat phase 1's" in out and "keeps phase 1's weights" in out
    after = weights_by_path(model)
    for path, value in at_phase1_end.weights.items():
        np.testing.assert_array_equal(after[path], value, err_msg=path)
    assert history.kept_epoch == history.stops[0]["best_epoch"]
    # The card's metrics are an evaluation of the exported weights.
    path = tlk.export_saved_model(model, str(tmp_path / "m"), history=history, verbose=0,
                                  warmup=False)
    with open(os.path.join(path, "model_card.json")) as f:
        card = json.load(f)
    _, val = _task()
    evaluated = model.evaluate(*val, verbose=0, return_dict=True)
    np.testing.assert_allclose(card["metrics"]["val_loss"], evaluated["loss"], rtol=1e-4)
    np.testing.assert_allclose(card["metrics"]["val_accuracy"], evaluated["accuracy"])


def test_each_phase_keeps_phase_2_even_when_worse(capsys):
    model = small_image_classifier(dropout=0.0)
    at_phase1_end = _AtPhase1End(model)
    history, out = _fit(model, "each_phase", capsys, [at_phase1_end])
    assert history.stops[1]["best_epoch"] >= history.fine_tune_epoch
    assert "did not beat" not in out
    after = weights_by_path(model)
    assert any(not np.array_equal(after[p], v) for p, v in at_phase1_end.weights.items())
    assert history.kept_epoch == history.stops[1]["best_epoch"]
    with pytest.raises(ValueError, match=r"Expected `keep_best` in \[True, False, "
                                         r"'each_phase'\]. Received: keep_best='both'"):
        _fit(small_image_classifier(), "both", capsys)
