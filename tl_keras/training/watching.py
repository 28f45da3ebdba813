"""A phase watched on the validation loss: convergence and the best epoch kept."""

import keras
import numpy as np

from tl_keras.console import plural
from tl_keras.console import say

CONVERGENCE_PATIENCE = 5  # epochs without a better validation loss before it stops


def run_watched(plan, run, phase, train, model):
    """Runs one phase, watched on the validation loss when there is validation
    data: phase 1 in convergence mode stops after `CONVERGENCE_PATIENCE` epochs
    without a better one; with `keep_best`, the phase ends with its best
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
        resume=resume)
    history = _joined(backup, phase, train(model, plan, run, [watcher] + extra))
    done = len(history.history.get("val_loss", []))
    if phase == 1:
        run.epochs_run = done
    if not done:
        return history, None
    best = first + int(np.nanargmin(history.history["val_loss"]))
    stopped = converge and done < epochs
    reason = (f"the validation loss had not improved for {CONVERGENCE_PATIENCE} epochs"
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
        **kwargs: `keras.callbacks.EarlyStopping` arguments.
    """

    def __init__(self, resume=None, **kwargs):
        super().__init__(**kwargs)
        self.resume = resume

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        state = self.resume(self.model) if self.resume is not None else None
        if state is not None:
            self.best, self.best_epoch, self.best_weights, self.wait = state


def _joined(backup, phase, history):
    return backup.joined(phase, history) if backup is not None else history
