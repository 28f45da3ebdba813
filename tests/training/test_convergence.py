"""Phase 1 to convergence when it is cheap, and each phase keeping its best epoch."""

import keras
import numpy as np
import pytest

import tl_keras as tlk
from tests.fixtures.images import red_task

# End to end (training, exporting, subprocesses): the full tier, `make test`.
pytestmark = pytest.mark.slow


def _task(n=32, size=32, seed=0):
    x, y = red_task(n, size, seed)
    return (x[: n * 3 // 4], y[: n * 3 // 4]), (x[n * 3 // 4:], y[n * 3 // 4:])


def test_cached_phase1_runs_until_the_validation_loss_stops_improving(capsys):
    keras.utils.set_random_seed(0)
    model = tlk.build_model("vgg16", num_classes=2, weights=None, input_shape=(32, 32, 3))
    train, (val_x, val_y) = _task()
    val = (val_x, val_y[::-1].copy())  # labels it cannot predict: the loss soon rises
    with tlk.FeatureCache() as cache:
        history = tlk.fit_two_phase(model, train, val, learning_rate=0.05,
                                    fine_tune_epochs=2, fine_tune_at="block5_conv3",
                                    verbose=1, caching=tlk.Caching(store=cache),
                                    keep_best="each_phase")  # phase 2's best, even if worse
    out = capsys.readouterr().out
    assert "until the validation loss stops improving (at most 100 epochs)" in out
    stop1, stop2 = history.stops
    assert stop1["stopped_early"] and history.fine_tune_epoch < 100
    # 24 examples: one optimizer step an epoch, so the patience of 5 epochs grows
    # to the 50 steps a head needs to move from its random start.
    assert "had not improved for 50 epochs" in stop1["reason"]
    assert f"Phase 1 ended after epoch {history.fine_tune_epoch}" in out
    val_loss = history.history["val_loss"]
    assert stop1["best_epoch"] == int(np.argmin(val_loss[:history.fine_tune_epoch]))
    assert history.fine_tune_epoch - stop1["best_epoch"] - 1 == 50  # patience 50
    # Phase 2 kept its best epoch: the model now scores that epoch's validation loss.
    assert stop2["best_epoch"] >= history.fine_tune_epoch
    loss = model.evaluate(*val, verbose=0)[0]
    np.testing.assert_allclose(loss, val_loss[stop2["best_epoch"]], rtol=1e-4)
    figure = tlk.plots.plot_history(history)
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert "epoch kept (best validation loss)" in labels


def test_without_the_cache_or_validation_the_count_holds():
    keras.utils.set_random_seed(0)
    model = tlk.build_model("vgg16", num_classes=2, weights=None, input_shape=(32, 32, 3),
                            augmentation="default")  # the base runs every epoch
    train, val = _task(16)
    history = tlk.fit_two_phase(model, train, val, fine_tune_epochs=0, verbose=0)
    assert len(history.epoch) == 5 and history.stops[0]["stopped_early"] is False
    history = tlk.fit_two_phase(model, train, fine_tune_epochs=0,
                                verbose=0, caching=tlk.Caching(features=False))
    assert len(history.epoch) == 5 and history.stops == (None, None)
