"""A phase watched on the validation loss: convergence and the best epoch kept."""

import math

import keras
import numpy as np

from tl_keras.log import plural
from tl_keras.log import say

CONVERGENCE_PATIENCE = 5  # epochs without a better validation loss before it stops
# ... and at least this many optimizer steps: on 80 examples an epoch is 3 steps,
# and 5 epochs (15 steps) stopped heads that had barely moved from their random
# start (benchmarks/text_real.py's chain: 0.403 on balanced test sentences).
CONVERGENCE_MIN_STEPS = 50


def run_watched(plan, run, phase, train, model):
    """Runs one phase, watched on the validation loss when there is validation
    data: phase 1 in convergence mode stops after `CONVERGENCE_PATIENCE` epochs
    without a better one (more on small data: at least `CONVERGENCE_MIN_STEPS`
    optimizer steps); with `keep_best`, the phase ends with its best
    epoch's weights. `train(model, plan, run, watchers)` trains; `run` (a
    `RunState`) records where the phase resumed and how long phase 1 ran.
    Returns `(history, stop)`."""
    epochs = plan.epochs if phase == 1 else plan.fine_tune_epochs
    converge = plan.converge and phase == 1
    backup = run.backup
    first = 0 if phase == 1 else run.epochs_run
    run.resumed_epochs = backup.epochs_done(phase) if backup is not None else 0
    extra = [backup.callback(phase, first)] if backup is not None else []
    if not (plan.keep_best or converge) or not epochs:
        history = _joined(backup, phase, train(model, plan, run, extra))
        if phase == 1:
            run.epochs_run = len(getattr(history, "epoch", []))
        return history, None
    resume = None
    if backup is not None and run.resumed_epochs:
        initial = first + run.resumed_epochs
        resume = lambda trained: backup.watcher_state(phase, trained, initial)  # noqa: E731
    watcher = ResumableEarlyStopping(
        monitor="val_loss", patience=CONVERGENCE_PATIENCE if converge else epochs,
        restore_best_weights=bool(plan.keep_best), min_delta=1e-4 if converge else 0.0,
        resume=resume, min_steps=CONVERGENCE_MIN_STEPS if converge else 0)
    history = _joined(backup, phase, train(model, plan, run, [watcher] + extra))
    done = len(history.history.get("val_loss", []))
    if phase == 1:
        run.epochs_run = done
    if not done:
        return history, None
    best = first + int(np.nanargmin(history.history["val_loss"]))
    stopped = converge and done < epochs
    reason = (f"the validation loss had not improved for {watcher.patience} epochs"
              if stopped else f"{plural(done, 'epoch')} done")
    kept = (f"; kept the weights of epoch {best + 1}, its lowest validation loss"
            if plan.keep_best else "")
    say(f"Phase {phase} ended after epoch {first + done}: {reason}{kept}.", plan.verbose)
    return history, {"best_epoch": best, "stopped_early": stopped, "reason": reason}


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """`EarlyStopping` that can start from what it knew before an interruption.

    Args:
        resume: `None`, or a function of the model being trained that returns
            `(best, best_epoch, best_weights, wait)` or `None`.
        min_steps: the patience, counted in optimizer steps, below which it
            never goes: after each epoch the patience in epochs becomes at
            least `min_steps` over the steps an epoch takes (Keras's count,
            else the batches seen, so a dataset of unknown length works too).
            Defaults to `0`.
        **kwargs: `keras.callbacks.EarlyStopping` arguments.
    """

    def __init__(self, resume=None, min_steps=0, **kwargs):
        super().__init__(**kwargs)
        self.resume = resume
        self.min_steps = min_steps
        self._epoch_patience = self.patience
        self._last_batch = -1

    def on_epoch_begin(self, epoch, logs=None):
        self._last_batch = -1

    def on_train_batch_end(self, batch, logs=None):
        self._last_batch = max(self._last_batch, batch)

    def on_epoch_end(self, epoch, logs=None):
        # Keras's own count when it knows it (with steps_per_execution a
        # callback sees one call per execution), else the batches seen.
        per_epoch = (self.params or {}).get("steps") or self._last_batch + 1
        if self.min_steps and per_epoch > 0:
            self.patience = max(self._epoch_patience, math.ceil(self.min_steps / per_epoch))
        super().on_epoch_end(epoch, logs)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        state = self.resume(self.model) if self.resume is not None else None
        if state is not None:
            self.best, self.best_epoch, self.best_weights, self.wait = state


def _joined(backup, phase, history):
    return backup.joined(phase, history) if backup is not None else history
