"""The weights that ship: phase 2's only when they beat phase 1's on validation.

Each phase ends with its own best epoch's weights (`watching.py`). Fine-tuning
can still end worse than the head alone (a loss spike, too high a rate on a
small dataset), and the model that ships must be the better of the two. Phase
1's weights are copied in memory when phase 2 starts (one copy of the model's
weights, on the host), compared by the lowest validation loss of each phase,
and restored when phase 2 did not improve on it.
"""

import numpy as np

from tl_keras.log import say

KEEP_BEST = (True, False, "each_phase")


def check_keep_best(keep_best):
    if not any(keep_best is choice or keep_best == choice for choice in KEEP_BEST):
        raise ValueError(f"Expected `keep_best` in {list(KEEP_BEST)}. "
                         f"Received: keep_best={keep_best!r}")
    return keep_best


def phase1_weights(model):
    """`{variable path: a copy of its value}` of every weight of `model`."""
    return {variable.path: np.array(variable.numpy()) for variable in model.weights}


def keep_the_better_phase(model, saved, phase1, phase2, stop2, verbose):
    """Restores phase 1's weights (`saved`) when phase 2's lowest validation loss
    is not lower than phase 1's; returns phase 2's stop record, with `rolled_back`.

    Variables phase 2 added (LoRA adapters) are set so that they change nothing:
    an adapter's `lora_kernel_b` starts at zero.
    """
    best1 = float(np.nanmin(phase1.history["val_loss"]))
    best2 = float(np.nanmin(phase2.history["val_loss"]))
    if best2 < best1:
        return dict(stop2, rolled_back=False)
    added = [v for v in model.weights if v.path not in saved]
    if any(not v.path.endswith("lora_kernel_b") for v in added):
        say(f"Phase 2's best validation loss ({best2:.4f}) did not beat phase 1's "
            f"({best1:.4f}), but it added weights phase 1 did not have: the model keeps "
            "phase 2's.", verbose)
        return dict(stop2, rolled_back=False)
    for variable in model.weights:
        if variable.path in saved:
            variable.assign(saved[variable.path])
        else:
            variable.assign(np.zeros(variable.shape, variable.dtype))
    say(f"Phase 2's best validation loss ({best2:.4f}) did not beat phase 1's "
        f"({best1:.4f}): the model keeps phase 1's weights (keep_best='each_phase' keeps "
        "phase 2's).", verbose)
    return dict(stop2, rolled_back=True)
