"""A two-phase run that survives interruption:
`fit_two_phase(distribution=Distribution(backup_dir=...))`.

At the end of every epoch the run writes, into `backup_dir`, the model's
weights, the state of the optimizer that is training (the head's, the top's
or the model's), the phase and epoch, the per-epoch logs so far, and what the
phase's watcher knows (its best validation loss and that epoch's weights).
Each file is written beside its final name and renamed over it, so a `kill -9`
mid-write leaves the previous epoch's backup whole. Running the same call
again resumes after the last finished epoch, in phase 1 or phase 2, with the
history joined; a finished run removes its backup.
"""

import copy
import hashlib
import io
import json
import os
import warnings

import keras
import numpy as np
import tensorflow as tf

from tl_keras.io.cluster import is_chief
from tl_keras.log import say

STATE = "state.json"
WEIGHTS = "model.weights.h5"
BEST_WEIGHTS = "best.weights.h5"
OPTIMIZER = "optimizer.npz"


class RunBackup:
    """The backup of one two-phase run in `directory`.

    Attributes:
        state: what the last finished epoch saved: `phase` (1 or 2),
            `epochs` (per phase, finished), `phase_done` (phase 1 finished),
            `logs` (per phase, metric -> values), `best` (per phase, the
            watcher's best validation loss and epoch); empty for a new run.
    """

    def __init__(self, directory, model):
        self.directory = os.fspath(directory)
        self.model = model
        self.state = {}
        path = os.path.join(self.directory, STATE)
        if tf.io.gfile.exists(path):  # any filesystem: shared storage across workers
            with tf.io.gfile.GFile(path, "r") as f:
                self.state = json.load(f)
            if self.state.get("model") != _signature(model):
                raise ValueError(
                    f"The backup in {self.directory} is of another model "
                    f"({self.state.get('model')}). Pass another backup_dir, or delete "
                    f"it to start over. Received: backup_dir={self.directory!r}")
        self.resumed = copy.deepcopy(self.state)  # what the run resumes from
        # Across workers the chief alone writes (their weights are the same); every
        # worker resumes from the chief's backup, so it must be on shared storage.
        self.writes = is_chief()

    @property
    def resuming(self):
        return bool(self.resumed)

    def epochs_done(self, phase):
        """Epochs of `phase` finished before this call resumed the run."""
        return int(self.resumed.get("epochs", {}).get(str(phase), 0))

    def phase1_done(self):
        """Whether phase 1 had finished before this call resumed the run."""
        return bool(self.resumed.get("phase_done")) or self.resumed.get("phase") == 2

    def phase1_stop(self):
        """How phase 1 ended, as `history.stops` records it, when it had."""
        return self.resumed.get("stop1")

    def restore_model(self, verbose):
        """Loads the saved weights into the model, saying where the run resumes."""
        if not self.resuming:
            return
        _load_weights(self.model, os.path.join(self.directory, WEIGHTS))
        phase = 2 if self.phase1_done() else 1
        optimizer = "" if self.phase1_done() and not self.epochs_done(2) else \
            ", with the optimizer's state"
        say(f"Resuming from the backup in {self.directory}: phase {phase}, after epoch "
            f"{self.epochs_done(1) + self.epochs_done(2)}{optimizer}.", verbose)

    def callback(self, phase, first_epoch):
        """The callback that backs the run up at the end of each epoch of `phase`."""
        return _EpochBackup(self, phase, first_epoch)

    def joined(self, phase, history):
        """`history` (a `keras.callbacks.History` of this call) with the epochs
        that ran before the interruption in front."""
        before = self.resumed.get("logs", {}).get(str(phase), {})
        if not before:
            return history
        done = self.epochs_done(phase)
        epochs = list(getattr(history, "epoch", []))
        now = getattr(history, "history", {}) or {}
        start = epochs[0] - done if epochs else 0
        history.history = {key: list(before.get(key, [])) + list(now.get(key, []))
                           for key in list(before) + [k for k in now if k not in before]}
        history.epoch = list(range(start, start + done)) + epochs
        return history

    def watcher_state(self, phase, trained, initial_epoch):
        """What the phase's watcher knew before the interruption: `(best
        validation loss, its epoch, the weights of `trained` then, epochs
        without improvement since)`, or None."""
        best = self.resumed.get("best", {}).get(str(phase))
        path = os.path.join(self.directory, BEST_WEIGHTS)
        if not best or not tf.io.gfile.exists(path):
            return None
        current = self.model.get_weights()
        _load_weights(self.model, path)  # `trained` shares its layers with the model
        weights = trained.get_weights()
        self.model.set_weights(current)
        return best["loss"], best["epoch"], weights, initial_epoch - 1 - best["epoch"]

    def mark_phase1_done(self, stop):
        """Saves the weights phase 1 ended with (its kept epoch's), that it
        ended and how (`stop`), so a resumed run goes straight to phase 2."""
        if not self.state:
            return
        self._replace(lambda path: self.model.save_weights(path),
                      os.path.join(self.directory, WEIGHTS))
        self.state["phase_done"] = True
        self.state["stop1"] = stop
        self._replace(lambda path: _write_json(path, self.state),
                      os.path.join(self.directory, STATE))

    def finish(self):
        """Removes the backup: the run is complete."""
        if not self.writes:
            return
        for name in (STATE, WEIGHTS, BEST_WEIGHTS, OPTIMIZER):
            path = os.path.join(self.directory, name)
            if tf.io.gfile.exists(path):
                tf.io.gfile.remove(path)
        if tf.io.gfile.isdir(self.directory) and not tf.io.gfile.listdir(self.directory):
            tf.io.gfile.rmtree(self.directory)

    # === Writing ===

    def _replace(self, write, path):
        if self.writes:
            _replace(write, path)

    def save(self, phase, epoch_in_phase, logs, trained, best):
        if self.writes:
            tf.io.gfile.makedirs(self.directory)
        self._replace(lambda path: self.model.save_weights(path),
                      os.path.join(self.directory, WEIGHTS))
        if best is not None and best.get("new"):
            self._replace(lambda path: self.model.save_weights(path),
                          os.path.join(self.directory, BEST_WEIGHTS))
        optimizer = trained.optimizer
        values = {f"v{i}": np.asarray(v) for i, v in enumerate(optimizer.variables)}
        self._replace(lambda path: _write_arrays(path, values),
                      os.path.join(self.directory, OPTIMIZER))
        state = copy.deepcopy(self.state)
        state["model"] = _signature(self.model)
        state["phase"] = phase
        state.setdefault("epochs", {})[str(phase)] = epoch_in_phase
        phase_logs = state.setdefault("logs", {}).setdefault(str(phase), {})
        for key, value in logs.items():
            phase_logs.setdefault(key, []).append(float(value))
        if best is not None:
            state.setdefault("best", {})[str(phase)] = {"loss": best["loss"],
                                                        "epoch": best["epoch"]}
        self.state = state
        self._replace(lambda path: _write_json(path, state),
                      os.path.join(self.directory, STATE))

    def restore_optimizer(self, trained):
        """Sets the optimizer of the model being trained to its saved state,
        when the backup is of the same phase and the variables match."""
        path = os.path.join(self.directory, OPTIMIZER)
        if not tf.io.gfile.exists(path):
            return
        optimizer = trained.optimizer
        if not optimizer.built:
            optimizer.build(trained.trainable_variables)
        with tf.io.gfile.GFile(path, "rb") as f, np.load(io.BytesIO(f.read())) as saved:
            values = [saved[f"v{i}"] for i in range(len(saved.files))]
        variables = optimizer.variables
        if len(values) != len(variables) or any(
                tuple(v.shape) != tuple(value.shape) for v, value in zip(variables, values)):
            say(f"The optimizer's state in {path} is of another optimizer "
                f"({len(values)} variables, this one has {len(variables)}); it starts "
                "afresh.")
            return
        for variable, value in zip(variables, values):
            variable.assign(value)


class _EpochBackup(keras.callbacks.Callback):
    def __init__(self, backup, phase, first_epoch):
        super().__init__()
        self.backup, self.phase, self.first_epoch = backup, phase, first_epoch
        saved = backup.resumed.get("best", {}).get(str(phase))
        self.best = dict(saved) if saved else None
        self.resumed_optimizer = backup.resuming and backup.resumed.get("phase") == phase \
            and not (phase == 1 and backup.phase1_done())

    def on_train_begin(self, logs=None):
        if self.resumed_optimizer:
            self.backup.restore_optimizer(self.model)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        loss = logs.get("val_loss")
        best = None
        if loss is not None:
            improved = self.best is None or loss < self.best["loss"]
            if improved:
                self.best = {"loss": float(loss), "epoch": epoch}
            best = dict(self.best, new=improved)
        self.backup.save(self.phase, epoch + 1 - self.first_epoch, logs, self.model, best)


def _signature(model):
    """What identifies the model of a backup: its class and weight shapes."""
    shapes = json.dumps([list(v.shape) for v in model.weights])
    digest = hashlib.sha1(shapes.encode()).hexdigest()[:12]
    return f"{type(model).__name__}, {len(model.weights)} weights ({digest})"


def _load_weights(model, path):
    """`model.load_weights(path)` without Keras's warning that it skipped the
    optimizer: the weights file holds the optimizer of the model when it was
    saved (built for the head, the top or the model), which the model about to
    resume has not built yet. The optimizer's state is restored on its own, from
    `optimizer.npz`, by `restore_optimizer` when the phase's fit begins."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model.load_weights(path)


def _replace(write, path):
    """Writes with `write(temporary path)` then renames over `path` (atomic)."""
    directory, name = os.path.split(path)
    temporary = os.path.join(directory, f"writing-{name}")  # keeps the suffix Keras checks
    write(temporary)
    tf.io.gfile.rename(temporary, path, overwrite=True)


def _write_json(path, value):
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(json.dumps(value))


def _write_arrays(path, values):
    """`np.savez` through `tf.io.gfile` (NumPy writes local files only)."""
    buffer = io.BytesIO()
    np.savez(buffer, **values)
    with tf.io.gfile.GFile(path, "wb") as f:
        f.write(buffer.getvalue())
