"""A phase watched on the validation loss: convergence and the best epoch kept."""

import keras
import numpy as np

from tl_keras.console import plural
from tl_keras.console import say

CONVERGENCE_PATIENCE = 5  # epochs without a better validation loss before it stops


def run_watched(plan, phase, train, model):
    """Runs one phase, watched on the validation loss when there is validation
    data: phase 1 in convergence mode stops after `CONVERGENCE_PATIENCE` epochs
    without a better one; with `keep_best`, the phase ends with its best
    epoch's weights. Returns `(history, stop)`."""
    epochs = plan.epochs if phase == 1 else plan.fine_tune_epochs
    converge = plan.converge and phase == 1
    if not (plan.keep_best or converge) or not epochs:
        history = train(model, plan, [])
        if phase == 1:
            plan.epochs_run = len(getattr(history, "epoch", []))
        return history, None
    watcher = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=CONVERGENCE_PATIENCE if converge else epochs,
        restore_best_weights=plan.keep_best, min_delta=1e-4 if converge else 0.0)
    history = train(model, plan, [watcher])
    run = len(history.history.get("val_loss", []))
    first = plan.epochs_run if phase == 2 else 0
    if phase == 1:
        plan.epochs_run = run
    if not run:
        return history, None
    best = first + int(np.nanargmin(history.history["val_loss"]))
    stopped = converge and run < epochs
    reason = (f"the validation loss had not improved for {CONVERGENCE_PATIENCE} epochs"
              if stopped else f"{plural(run, 'epoch')} done")
    kept = (f"; kept the weights of epoch {best + 1}, its lowest validation loss"
            if plan.keep_best else "")
    say(f"Phase {phase} ended after epoch {first + run}: {reason}{kept}.", plan.verbose)
    return history, {"best_epoch": best, "stopped_early": stopped, "reason": reason}
