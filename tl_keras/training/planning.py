"""What `fit_two_phase` decides before any training: every check, then a plan.

Everything that can be wrong (data that does not fit the model, bad
arguments, a cache that cannot be honoured) raises here, before any work.
"""

import dataclasses
from typing import Callable
from typing import Optional
from typing import Union

import keras
import numpy as np

from tl_keras.log import fit_verbose
from tl_keras.log import say
from tl_keras.models.parts import get_base
from tl_keras.models.transfer_model import TransferModel
from tl_keras.training.activation_cache import CutModels
from tl_keras.training.activation_cache import split_at_cut
from tl_keras.training.backup import RunBackup
from tl_keras.training.best_of_phases import check_keep_best
from tl_keras.training.feature_cache import FeatureCache
from tl_keras.training.feature_cache import default_feature_cache
from tl_keras.training.freezing import fine_tune_index
from tl_keras.training.freezing import fine_tuning_units
from tl_keras.training.freezing import freeze_base
from tl_keras.training.inputs import TrainingData
from tl_keras.training.inputs import balanced_class_weight
from tl_keras.training.inputs import check_counts
from tl_keras.training.inputs import prepare_training_data
from tl_keras.training.lora import attention_projections
from tl_keras.training.lora import kerashub_backbone
from tl_keras.training.lora import lora_targets
from tl_keras.training.losses import auto_compile_args
from tl_keras.training.losses import output_activation
from tl_keras.training.losses import user_compile_args
from tl_keras.training.precision import check_jit_compile
from tl_keras.training.precision import check_mixed_precision
from tl_keras.training.precision import with_options
from tl_keras.training.schedules import check_schedule

CONVERGENCE_CEILING = 100  # phase 1 epochs at most when it runs to convergence
DEFAULT_EPOCHS = 5  # phase 1 epochs when it does not run to convergence
# Phase 2's peak rates, chosen by benchmarks/fine_tune_defaults.py and text_real.py.
FINE_TUNE_LEARNING_RATE = 3e-4  # a model's own default may differ (its hook)
# A KerasHub transformer unfrozen whole: BERT's own recipe (Devlin et al. 2019: 5e-5,
# 3e-5 or 2e-5). Its LoRA adapters keep the images' rate: few weights, started at zero.
TRANSFORMER_FINE_TUNE_LEARNING_RATE = 5e-5


@dataclasses.dataclass(frozen=True)
class Plan:
    """Everything `fit_two_phase` decided before any training (fixed for the run;
    what changes while it runs is in `RunState`)."""

    data: TrainingData
    fit_args: dict  # `model.fit`'s arguments: x, y, validation_data, callbacks, ...
    compile_args: Callable[[], dict]  # fresh loss and metric objects for each compile
    epochs: int
    fine_tune_epochs: int
    fine_tune_index: Optional[int]  # the base layer where phase 2 unfreezes from
    learning_rate: float
    fine_tune_learning_rate: float
    batch_size: int
    cache: Optional[FeatureCache]  # when phase 1 runs on cached features
    no_cache_reason: Optional[str]  # why it does not
    store: FeatureCache  # the cache of features and activations
    cut: Optional[CutModels]  # when phase 2 runs on cached activations
    no_cut_reason: Optional[str]  # why it does not
    converge: bool  # phase 1 runs until the validation loss stops improving
    keep_best: Union[bool, str]  # False, "each_phase" or "across_phases"
    verbose: Union[int, str, bool]  # `fit`'s verbose; 0 also silences the lines
    schedule: str = "constant"  # phase 2's learning-rate schedule
    precision: Optional[str] = None  # the mixed policy ("mixed_float16", ...) of both phases
    lora_rank: Optional[int] = None  # phase 2 as LoRA adapters of this rank


@dataclasses.dataclass
class RunState:
    """What a run learns as it goes: its backup, where it resumed, how many
    epochs phase 1 ran, and the activations phase 1 computed for phase 2."""

    backup: Optional[RunBackup] = None  # when the run backs up each epoch
    resumed_epochs: int = 0  # epochs of the current phase done before a resume
    epochs_run: int = 0  # phase 1's epochs, once it ran
    activations: Optional[tuple] = None  # (train, validation, batch, hit) at the cut


def _reaching_weights(layers, index, fine_tune_at, base_name, verbose):
    """Phase 2's start, checked to unfreeze at least one layer with weights. The
    default (the top third of the layers) steps back to the last layer with
    weights when that third has none (a KerasHub ViT: one encoder layer holding
    every block, then the pooling), with a line; an explicit `fine_tune_at`
    that unfreezes nothing is refused before any work."""
    trainable = [i for i, layer in enumerate(layers) if i >= index and layer.weights
                 and not isinstance(layer, keras.layers.BatchNormalization)]
    if trainable:
        return index
    with_weights = [i for i, layer in enumerate(layers) if layer.weights
                    and not isinstance(layer, keras.layers.BatchNormalization)]
    if fine_tune_at is not None or not with_weights:
        raise ValueError(
            f"Phase 2 would unfreeze no layer with weights of base '{base_name}': the "
            f"layers from {layers[index].name!r} on hold none. Pass a fine_tune_at that "
            "reaches a layer with weights"
            + (f" (the last one is {layers[with_weights[-1]].name!r})" if with_weights else "")
            + ", fine_tuning=tl_keras.FineTuning(lora_rank=...) for a KerasHub "
            f"transformer, or fine_tune_epochs=0. Received: fine_tune_at={fine_tune_at!r}")
    start = with_weights[-1]
    say(f"Phase 2 starts at '{layers[start].name}', the last layer of '{base_name}' with "
        "weights: the top third of its layers holds none (pass fine_tune_at= or, for a "
        "transformer, FineTuning(lora_rank=...) to choose).", verbose)
    return start


def make_plan(model, train_data, validation_data, *, epochs, fine_tune_epochs, fine_tune_at,
              learning_rate, keep_best, callbacks, class_weight, batch_size, verbose,
              fine_tuning, caching, speed):
    """Checks every argument against the model and the data, then decides.

    Args:
        fine_tuning: a `tl_keras.FineTuning`.
        caching: a `tl_keras.Caching`.
        speed: a `tl_keras.Speed`.
        (the others: `fit_two_phase`'s.)

    Returns:
        A `Plan`.
    """
    lora_rank = fine_tuning.lora_rank
    cache_features, fine_tune_cache = caching.features, caching.activations
    check_schedule(fine_tuning.schedule)
    fine_tune_learning_rate = fine_tuning.learning_rate
    if fine_tune_learning_rate is None:
        fine_tune_learning_rate = _default_fine_tune_rate(model, lora_rank)
    precision = check_mixed_precision(speed.mixed_precision)
    check_jit_compile(speed.jit_compile)
    automatic = epochs is None
    epochs = DEFAULT_EPOCHS if automatic else epochs
    check_counts(epochs=epochs, fine_tune_epochs=fine_tune_epochs)
    if not epochs and not fine_tune_epochs:
        raise ValueError("Nothing to train: expected `epochs` or `fine_tune_epochs` > 0. "
                         "Received: epochs=0, fine_tune_epochs=0")
    for arg, value in (("learning_rate", learning_rate),
                       ("FineTuning.learning_rate", fine_tune_learning_rate)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"Expected `{arg}` > 0. Received: {arg}={value!r}")
    for arg, value in (("Caching.features", cache_features),
                       ("Caching.activations", fine_tune_cache)):
        if value not in ("auto", True, False):
            raise ValueError(f"Expected `{arg}` to be 'auto', True or False. "
                             f"Received: {arg}={value!r}")
    base = get_base(model)
    units = model.output_shape[-1]
    activation = output_activation(model)
    data = prepare_training_data(model, train_data, validation_data, batch_size, units,
                                 activation)
    index = None
    if fine_tune_at is None:
        fine_tune_at = getattr(model, "default_fine_tune_at", None)
    if fine_tune_epochs:  # validate before any work
        layers = fine_tuning_units(base)
        index = fine_tune_index(layers, fine_tune_at, base.name)
        if lora_rank is not None:
            lora_targets(model, lora_rank)
        else:
            index = _reaching_weights(layers, index, fine_tune_at, base.name, verbose)
    class_weight = _class_weight(class_weight, data.labels, train_data, units)
    verbose = fit_verbose(verbose)
    fit_args = dict(data.fit_args, callbacks=callbacks, class_weight=class_weight,
                    verbose=verbose)
    compile_args = with_options(
        user_compile_args(model) or auto_compile_args(data.kind, activation), precision,
        speed.jit_compile)
    freeze_base(model, recompile=False)  # what decides the cache is the frozen state
    reason = _no_cache_reason(model, cache_features, epochs)
    if reason and cache_features is True:
        raise ValueError(f"Cannot cache phase 1 features: {reason}. "
                         "Received: Caching.features=True")
    store = caching.store or default_feature_cache()
    cut, cut_reason = _phase2_cut(model, fine_tune_cache, fine_tune_epochs, index)
    if lora_rank is not None and fine_tune_epochs:
        cut, cut_reason = None, "LoRA adapters sit throughout the backbone"
    converge = automatic and validation_data is not None and (
        reason is None or getattr(model, "cheap_epochs", False))
    return Plan(
        data=data, fit_args=fit_args, compile_args=compile_args,
        epochs=CONVERGENCE_CEILING if converge else epochs,
        fine_tune_epochs=fine_tune_epochs, fine_tune_index=index,
        learning_rate=learning_rate, fine_tune_learning_rate=fine_tune_learning_rate,
        batch_size=batch_size, cache=None if reason else store, no_cache_reason=reason,
        store=store, cut=cut, no_cut_reason=cut_reason, converge=converge,
        keep_best=_keep_best(keep_best, validation_data), verbose=verbose,
        schedule=fine_tuning.schedule, precision=precision, lora_rank=lora_rank)


def _keep_best(keep_best, validation_data):
    """What the watchers keep: nothing without validation data."""
    check_keep_best(keep_best)
    if validation_data is None or keep_best is False:
        return False
    return "each_phase" if keep_best == "each_phase" else "across_phases"


def _default_fine_tune_rate(model, lora_rank):
    """The model's own default (its `default_fine_tune_learning_rate` hook), else
    BERT's for a transformer unfrozen whole, else the images' rate."""
    own = getattr(model, "default_fine_tune_learning_rate", None)
    rate = own(lora_rank) if own is not None else None
    if rate is not None:
        return rate
    if lora_rank is None and _has_attention(model):
        return TRANSFORMER_FINE_TUNE_LEARNING_RATE
    return FINE_TUNE_LEARNING_RATE


def _has_attention(model):
    """Whether the base holds a KerasHub transformer backbone."""
    backbone = kerashub_backbone(get_base(model))
    return backbone is not None and bool(attention_projections(backbone))


def _phase2_cut(model, fine_tune_cache, fine_tune_epochs, index):
    """`(CutModels, None)` when phase 2 runs on cached activations, else
    `(None, why not)`; raises when `fine_tune_cache=True` cannot be honoured."""
    if not fine_tune_epochs:
        return None, None
    if not fine_tune_cache:
        return None, "Caching.activations=False"
    if fine_tune_epochs < 2 and fine_tune_cache == "auto":
        return None, "one epoch gains nothing from it"
    cut, reason = split_at_cut(model, index)
    if reason and fine_tune_cache is True:
        raise ValueError(f"Cannot cache phase 2 activations: {reason}. "
                         "Received: Caching.activations=True")
    return cut, reason


def _class_weight(class_weight, labels, train_data, units):
    if not isinstance(class_weight, str):
        return class_weight
    if class_weight != "balanced":
        raise ValueError("Expected `class_weight` to be a dict, 'balanced' or None. "
                         f"Received: class_weight={class_weight!r}")
    if labels is None:
        labels = np.concatenate([np.asarray(batch[1]) for batch in train_data], axis=0)
    return balanced_class_weight(labels, units)


def _no_cache_reason(model, cache_features, epochs):
    """Why phase 1 cannot run on cached features, or None when it can."""
    if not cache_features:
        return "Caching.features=False"
    if not epochs:
        return "no phase 1 epochs"
    if not isinstance(model, TransferModel):
        return ("not a tl_keras model (build it with tl_keras.build_model), so where "
                "its head starts is unknown")
    reason = model.fixed_features_reason()
    if reason is None and epochs < 2 and cache_features == "auto":
        reason = "one epoch gains nothing from it"
    return reason
