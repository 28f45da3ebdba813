"""tl_keras's lines go through `logging.getLogger("tl_keras")`: captured, silenced,
routed, and still printed by default."""

import logging

import numpy as np
import pytest

import tl_keras as tlk
from tests.fixtures.images import small_image_classifier
from tl_keras import log


def _fit_a_little(verbose="auto"):
    model = small_image_classifier()
    images = np.random.default_rng(0).uniform(0, 255, (16, 16, 16, 3)).astype("float32")
    labels = np.arange(16) % 2
    return tlk.fit_two_phase(model, (images, labels), (images[:8], labels[:8]), epochs=1,
                             fine_tune_epochs=1, verbose=verbose)


@pytest.fixture()
def tl_keras_level():
    logger = logging.getLogger("tl_keras")
    level = logger.level
    yield logger
    logger.setLevel(level)


def test_phase_lines_are_captured_and_silenced_the_standard_way(
        caplog, capsys, tl_keras_level):
    with caplog.at_level(logging.INFO, logger="tl_keras"):
        _fit_a_little()
    phases = [r.getMessage() for r in caplog.records
              if r.name.startswith("tl_keras") and r.getMessage().startswith("Phase ")]
    assert any(m.startswith("Phase 1/2: training the head") for m in phases)
    assert any(m.startswith("Phase 2/2:") for m in phases)
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "tl_keras")
    assert "Phase 1/2: training the head" in capsys.readouterr().out  # printed as before

    caplog.clear()
    tl_keras_level.setLevel(logging.WARNING)
    _fit_a_little()
    assert not [r for r in caplog.records if r.name == "tl_keras"]
    assert "Phase 1/2" not in capsys.readouterr().out


def test_verbose_zero_still_silences_and_a_handler_of_ones_own_receives_the_lines(
        capsys, tl_keras_level):
    _fit_a_little(verbose=0)
    assert "Phase" not in capsys.readouterr().out

    received = []
    handler = logging.Handler()
    handler.emit = lambda record: received.append(record.getMessage())
    tl_keras_level.addHandler(handler)
    tl_keras_level.removeHandler(log.DEFAULT_HANDLER)  # routed to ours alone
    try:
        log.say("one line")
    finally:
        tl_keras_level.removeHandler(handler)
        tl_keras_level.addHandler(log.DEFAULT_HANDLER)
    assert received == ["one line"]
    assert "one line" not in capsys.readouterr().out
