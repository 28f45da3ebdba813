"""A two-phase run killed with `kill -9` resumes where it stopped."""

import json
import subprocess
import sys

import pytest

from tests.fixtures import REPO_ROOT

# End to end (training, exporting, subprocesses): the full tier, `make test`.
pytestmark = pytest.mark.slow

ROOT = REPO_ROOT

_RUN = """
import os, signal, sys
import keras, numpy as np
import tl_keras as tlk
from tests.fixtures.images import random_images, small_image_classifier

kill_at, backup_dir = int(sys.argv[1]), sys.argv[2]
model = small_image_classifier()
images, labels = random_images(32, size=16), np.array([0, 1] * 16)
images[labels == 1, ..., 0] += 60


class Killer(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)  # no clean-up, no flush


history = tlk.fit_two_phase(model, (images, labels), (images, labels), epochs=6,
                            fine_tune_epochs=4, batch_size=8, callbacks=[Killer()],
                            verbose=1, distribution=tlk.Distribution(backup_dir=backup_dir))
print("RESULT " + json.dumps({"epoch": history.epoch, "fine_tune": history.fine_tune_epoch,
                              "val_loss": history.history["val_loss"]}))
""".replace("import os,", "import json, os,")


def _run(kill_at, backup_dir):
    return subprocess.run([sys.executable, "-c", _RUN, str(kill_at), str(backup_dir)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


@pytest.mark.skipif(sys.platform == "win32", reason="kill -9 is POSIX")
def test_a_killed_run_resumes_in_phase_1_then_in_phase_2(tmp_path):
    backup_dir = tmp_path / "backup"
    # Killed at the end of phase 1's third epoch, before its backup: two are saved.
    first = _run(2, backup_dir)
    assert first.returncode == -9 and "RESULT" not in first.stdout
    state = json.loads((backup_dir / "state.json").read_text())
    assert state["phase"] == 1 and state["epochs"] == {"1": 2}
    second = _run(7, backup_dir)  # resumes at epoch 3; killed in phase 2's second epoch
    assert second.returncode == -9, second.stderr[-2000:]
    assert "Resuming from the backup" in second.stdout and "phase 1, after epoch 2" in \
        second.stdout
    state = json.loads((backup_dir / "state.json").read_text())
    assert state["phase"] == 2 and state["epochs"] == {"1": 6, "2": 1}
    assert state["phase_done"] and state["stop1"]["reason"] == "6 epochs done"
    third = _run(-1, backup_dir)  # resumes in phase 2 and finishes
    assert third.returncode == 0, third.stderr[-2000:]
    assert "phase 2, after epoch 7" in third.stdout
    result = json.loads(third.stdout.split("RESULT ")[1])
    assert result["epoch"] == list(range(10)) and result["fine_tune"] == 6
    assert len(result["val_loss"]) == 10  # every epoch once, history joined
    assert result["val_loss"][:6] == pytest.approx(state["logs"]["1"]["val_loss"])
    assert not backup_dir.exists()  # a finished run leaves no backup


def test_a_backup_on_another_filesystem_resumes_and_is_removed_at_the_end(capsys):
    """The backup goes through tf.io.gfile (ram:// here, gs:// on a cluster)."""
    import keras
    import numpy as np
    import tensorflow as tf

    import tl_keras as tlk
    from tests.fixtures.images import random_images
    from tests.fixtures.images import small_image_classifier

    class Interrupted(Exception):
        pass

    class StopAfterTwoEpochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise Interrupted()

    images, labels = random_images(16, size=16), np.array([0, 1] * 8)
    backup = "ram://tl_keras_test_backup"
    options = tlk.Distribution(backup_dir=backup)
    with pytest.raises(Interrupted):
        tlk.fit_two_phase(small_image_classifier(), (images, labels), epochs=3,
                          fine_tune_epochs=1, batch_size=8, distribution=options,
                          callbacks=[StopAfterTwoEpochs()])
    assert "state.json" in tf.io.gfile.listdir(backup)
    capsys.readouterr()
    history = tlk.fit_two_phase(small_image_classifier(), (images, labels), epochs=3,
                                fine_tune_epochs=1, batch_size=8, distribution=options)
    assert f"Resuming from the backup in {backup}: phase 1" in capsys.readouterr().out
    assert len(history.history["loss"]) == 4
    assert not tf.io.gfile.exists(backup)  # a finished run removes its backup


@pytest.mark.parametrize("interrupted_after", [1, 5], ids=["phase_1", "phase_2"])
def test_a_resumed_run_continues_with_the_optimizer_state_it_was_interrupted_with(
        interrupted_after, tmp_path, caplog):
    """Issue 34 row 7: a resumed `build_model` run (the feature cache in phase 1,
    the top of MobileNetV2 in phase 2) starts from the optimizer's saved moments
    and step count, and Keras's "Skipping variable loading for optimizer" warning,
    which read as if it restored none, is not shown."""
    import logging
    import warnings

    import keras
    import numpy as np

    import tl_keras as tlk
    from tests.fixtures.images import random_images

    class Interrupted(Exception):
        pass

    class InterruptAfter(keras.callbacks.Callback):
        """Records the optimizer after epoch `epoch`, then stops the run once
        that epoch's backup is written (at the next epoch's start)."""

        def __init__(self, epoch):
            super().__init__()
            self.epoch = epoch

        def on_epoch_end(self, epoch, logs=None):
            if epoch == self.epoch:
                self.state = [np.array(v) for v in self.model.optimizer.variables]

        def on_epoch_begin(self, epoch, logs=None):
            if epoch == self.epoch + 1:
                raise Interrupted()

    class FirstStep(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if not hasattr(self, "state"):
                self.state = [np.array(v) for v in self.model.optimizer.variables]

    images, labels = random_images(32, size=32), np.array([0, 1] * 16)
    images[labels == 1, ..., 0] += 60

    def run(callback):
        model = tlk.build_model("mobilenet_v2", num_classes=2, weights=None,
                                input_shape=(32, 32, 3))
        return tlk.fit_two_phase(model, (images, labels), (images, labels), epochs=4,
                                 fine_tune_epochs=3, batch_size=8, callbacks=[callback],
                                 distribution=tlk.Distribution(backup_dir=tmp_path / "b"))

    interrupt = InterruptAfter(interrupted_after)
    with pytest.raises(Interrupted):
        run(interrupt)
    first_step = FirstStep()
    with warnings.catch_warnings(record=True) as caught, \
            caplog.at_level(logging.INFO, logger="tl_keras"):
        warnings.simplefilter("always")
        run(first_step)
    assert not [w for w in caught if "Skipping variable loading" in str(w.message)]
    assert "with the optimizer's state" in caplog.text
    assert len(first_step.state) == len(interrupt.state) > 2  # moments, not only a step
    assert int(first_step.state[0]) == int(interrupt.state[0]) > 0  # the step count
    for resumed, saved in zip(first_step.state, interrupt.state):
        np.testing.assert_allclose(resumed, saved)
