"""TwoPhaseHistory: the history of both phases on one epoch axis."""

import math


class TwoPhaseHistory:
    """The merged history of `fit_two_phase`: both phases, one epoch axis.

    Attributes:
        history: dict of metric name -> list of per-epoch values, phase 1 then
            phase 2 (like `keras.callbacks.History.history`).
        epoch: the epoch indices, `0 .. epochs + fine_tune_epochs - 1`.
        fine_tune_epoch: index of the first fine-tuning epoch, or `None` when
            phase 2 was skipped.
        phases: the two `keras.callbacks.History` objects (the second `None`
            when phase 2 was skipped).
        stops: one dict per phase run (or None when nothing was watched):
            `best_epoch` (kept: its weights are the model's), `stopped_early`,
            and `reason`, a sentence; phase 2's also `rolled_back` (phase 2
            did not beat phase 1, whose weights the model keeps).
        kept_epoch: the epoch whose weights the model holds, or `None` when
            it holds the last epoch's.
        training_data: what the model card says of the data it was trained
            on (`{"fingerprint", "examples", "per_class"}`), or `None`: an
            export given this history (`ModelCard(history=history)`) records it.
    """

    def __init__(self, phase1, phase2=None, stops=(None, None), training_data=None):
        self.phases = (phase1, phase2)
        self.stops = tuple(stops)
        self.training_data = training_data
        first = phase1.history if phase1 is not None else {}
        second = phase2.history if phase2 is not None else {}
        n_first = _num_epochs(first)
        n_second = _num_epochs(second)
        keys = list(first) + [key for key in second if key not in first]
        self.history = {
            key: list(first.get(key, [math.nan] * n_first))
            + list(second.get(key, [math.nan] * n_second))
            for key in keys
        }
        self.epoch = list(range(n_first + n_second))
        self.fine_tune_epoch = n_first if phase2 is not None else None

    @property
    def kept_epoch(self):
        first, second = (self.stops + (None, None))[:2]
        if second is not None and not second.get("rolled_back"):
            return second["best_epoch"]
        if second is not None or (first is not None and self.fine_tune_epoch is None):
            return first["best_epoch"] if first is not None else None
        return None  # phase 2 ran unwatched: its last epoch

    def __repr__(self):
        return (f"TwoPhaseHistory(epochs={len(self.epoch)}, "
                f"fine_tune_epoch={self.fine_tune_epoch}, metrics={list(self.history)})")


def _num_epochs(history):
    return max((len(values) for values in history.values()), default=0)
