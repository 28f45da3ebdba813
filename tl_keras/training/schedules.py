"""Phase 2's learning rate: constant, or warmed up then decayed on a cosine."""

import keras
import numpy as np

SCHEDULES = ("constant", "cosine")
WARMUP_FRACTION = 0.1  # of phase 2's steps, for "cosine"


def check_schedule(schedule):
    if schedule not in SCHEDULES:
        raise ValueError(f"Expected `FineTuning.schedule` to be one of {list(SCHEDULES)}. "
                         f"Received: schedule={schedule!r}")
    return schedule


def phase2_learning_rate(peak, schedule, epochs, steps_per_epoch):
    """The learning rate to compile phase 2 with: `peak` itself for
    `"constant"`; for `"cosine"`, a linear warm-up to `peak` over the first
    tenth of phase 2's steps (`w` steps: the first at `peak / (w + 1)`, so the
    first step already learns, even in a phase 2 of one step), then a cosine
    decay to 0 after its last step.

    Args:
        peak: the learning rate (`FineTuning.learning_rate`).
        schedule: `"constant"` or `"cosine"`.
        epochs: phase 2's epochs.
        steps_per_epoch: optimizer steps per epoch, or `None` when unknown
            (then the rate stays constant).

    Returns:
        A float, or a `keras.optimizers.schedules.CosineDecay`.
    """
    if schedule == "constant" or not steps_per_epoch:
        return peak
    total = max(int(epochs * steps_per_epoch), 2)
    warmup = max(int(round(WARMUP_FRACTION * total)), 1)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=float(peak) / (warmup + 1), decay_steps=total - warmup,
        alpha=0.0, warmup_target=float(peak), warmup_steps=warmup)


class EpochCosine(keras.callbacks.Callback):
    """The `"cosine"` schedule an epoch at a time, for a pipeline whose number of
    batches is unknown: the rate of each epoch is the schedule's at its middle
    (the first epoch, the warm-up, at half the peak when there are several)."""

    def __init__(self, peak, epochs, initial_epoch=0):
        super().__init__()
        self.peak, self.epochs, self.initial_epoch = peak, epochs, initial_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.model.optimizer.learning_rate = epoch_rate(
            self.peak, epoch - self.initial_epoch, self.epochs)


def epoch_rate(peak, epoch, epochs):
    """The `"cosine"` schedule's rate at the middle of `epoch` (from 0)."""
    if epochs < 2:
        return peak
    if epoch == 0:
        return peak / 2
    progress = (epoch - 0.5) / (epochs - 1)
    return float(peak * 0.5 * (1 + np.cos(np.pi * progress)))


def steps_per_epoch(fit_args):
    """Batches per epoch of `fit`'s data, or `None` when the pipeline's length is
    unknown (a folder that skips unreadable files)."""
    x = fit_args["x"]
    if "y" in fit_args:  # arrays
        return -(-len(x) // fit_args.get("batch_size", 32))
    cardinality = int(x.cardinality()) if hasattr(x, "cardinality") else -1
    return cardinality if cardinality > 0 else None


def describe_schedule(schedule, rate):
    if schedule == "constant":
        return f"at learning rate {rate:g}"
    return f"at learning rate {rate:g}, warmed up then decayed on a cosine"
