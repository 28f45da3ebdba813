"""Two-phase transfer learning: train the head on a frozen base, then fine-tune.

```python
history = tlk.fit_two_phase(model, train, val, epochs=5, fine_tune_epochs=5)
```

Like fastai's `fine_tune`, a short composition of steps: check everything,
train the head with the base frozen (on cached features when they are fixed),
unfreeze the top of the base (BatchNormalization kept frozen, so it runs in
inference mode and its statistics never drift), recompile at a low learning
rate and go on counting epochs, so the curves of both phases join.
"""

import keras
import numpy as np
import tensorflow as tf

from tl_keras.data.fingerprints import data_card
from tl_keras.log import plural
from tl_keras.log import say
from tl_keras.models.parts import class_names_of
from tl_keras.models.parts import get_base
from tl_keras.training.backup import RunBackup
from tl_keras.training.best_of_phases import keep_the_better_phase
from tl_keras.training.best_of_phases import phase1_weights
from tl_keras.training.cached_training import fine_tune_on_activations
from tl_keras.training.cached_training import train_head_on_features
from tl_keras.training.cached_training import unknown_length_is_expected
from tl_keras.training.distribution import get_strategy
from tl_keras.training.distribution import strategy_of
from tl_keras.training.distribution import trained_under
from tl_keras.training.freezing import unfreeze_base
from tl_keras.training.history import TwoPhaseHistory
from tl_keras.training.lora import enable_lora
from tl_keras.training.losses import compile_model
from tl_keras.training.options import resolve_options
from tl_keras.training.planning import RunState
from tl_keras.training.planning import make_plan
from tl_keras.training.precision import mixed_precision_for
from tl_keras.training.schedules import EpochCosine
from tl_keras.training.schedules import describe_schedule
from tl_keras.training.schedules import phase2_learning_rate
from tl_keras.training.schedules import steps_per_epoch
from tl_keras.training.watching import run_watched
from tl_keras.training.worker_loop import fit
from tl_keras.training.worker_loop import shard_for_worker


def fit_two_phase(model, train_data, validation_data=None, *, epochs=None,
                  fine_tune_epochs=5, fine_tune_at=None, learning_rate=1e-3, keep_best=True,
                  fine_tuning=None, caching=None, speed=None, distribution=None,
                  callbacks=None, class_weight=None, batch_size=32, verbose="auto",
                  **deprecated):
    """Trains a transfer-learning model in two phases.

    Phase 1 trains the head with the base frozen, on the base's features
    computed once when they are fixed. Phase 2 unfreezes the base from
    `fine_tune_at` (BatchNormalization layers stay frozen, in inference mode),
    recompiles at a low rate and trains `fine_tune_epochs` more epochs,
    numbered after phase 1's. With validation data, phase 1 on cached features
    runs until the validation loss stops improving (unless `epochs` is given),
    and each phase ends with its best epoch's weights (`history.stops` says
    where each stopped and which epoch it kept). Unless `model` is compiled,
    the loss and an `accuracy` metric are chosen from the labels and the
    output layer; a compiled model keeps its loss, metrics and optimizer type.

    Args:
        model: a model built by `tl_keras.build_model` or `build_text_model`
            (or a model of your own with one nested base: see
            `tl_keras.get_base`).
        train_data: a batched `tf.data.Dataset` of `(inputs, labels)`, or a
            tuple `(x, y)` of arrays.
        validation_data: the same kinds, or `None`. Defaults to `None`.
        epochs: epochs of phase 1. Defaults to `None`: until the validation
            loss stops improving (5 epochs without a better one, up to 100)
            when phase 1 runs on cached features with validation data, else 5.
        fine_tune_epochs: epochs of phase 2; `0` skips it. Defaults to `5`.
        fine_tune_at: where unfreezing starts (see `tl_keras.unfreeze_base`).
            Defaults to `None`: the top third of the base.
        learning_rate: phase 1's learning rate. Defaults to `1e-3`.
        keep_best: with validation data, `True` ends each phase with the
            weights of its best epoch (lowest validation loss), and rolls phase
            2 back to phase 1's weights when it did not improve on them, with a
            line (`history.stops[1]["rolled_back"]`); `"each_phase"` keeps
            phase 2's best even then; `False` keeps the last epoch's. Defaults
            to `True`.
        fine_tuning: a `tl_keras.FineTuning`: phase 2's learning rate and
            schedule, or LoRA adapters. Defaults to `None`: `FineTuning()`.
        caching: a `tl_keras.Caching`: what each phase computes once. Defaults
            to `None`: `Caching()`, both caches where they give the same result.
        speed: a `tl_keras.Speed`: mixed precision and XLA. Defaults to `None`:
            `Speed()`, float32.
        distribution: a `tl_keras.Distribution`: a `tf.distribute` strategy and
            a backup directory to resume from. Defaults to `None`: one device,
            no backup.
        callbacks: Keras callbacks for both phases. Defaults to `None`.
        class_weight: a dict `{class_index: weight}`, `"balanced"` (inversely
            proportional to class frequency in `train_data`), or `None`.
            Defaults to `None`.
        batch_size: batch size for array inputs (the global batch across
            replicas). Defaults to `32`.
        verbose: passed to `model.fit`; `0` also silences the phase lines;
            `"auto"` shows progress bars on a terminal or in a notebook and a line
            per epoch when output goes to a file or a pipe. Defaults to `"auto"`.
        **deprecated: the keywords the option objects replace
            (`fine_tune_learning_rate`, `fine_tune_schedule`, `lora_rank`,
            `cache_features`, `fine_tune_cache`, `feature_cache`,
            `mixed_precision`, `jit_compile`, `strategy`, `backup_dir`) work for
            one more release, with a `DeprecationWarning`.

    Returns:
        A `TwoPhaseHistory` with both phases merged and `fine_tune_epoch`.

    Raises:
        ValueError: before any training, for labels that do not fit the
            output (shape or range), inputs that do not fit the model, an
            unbatched dataset, or a bad `fine_tune_at`.
        TypeError: an unknown keyword, or an option object of the wrong kind.

    Example:

    >>> history = tl_keras.fit_two_phase(model, train, val, epochs=5,
    ...                                  fine_tune_epochs=5)
    Phase 1/2: training the head, base 'mobilenet_v2' frozen: 5 epochs ...
    Phase 2/2: fine-tuning ...
    >>> history.fine_tune_epoch
    5
    """
    options = resolve_options({"fine_tuning": fine_tuning, "caching": caching,
                               "speed": speed, "distribution": distribution}, deprecated)
    distribution = options.pop("distribution")
    # The strategy asked for, else the one the model was built under (its variables
    # are mirrored: compiling and training outside that scope fails).
    strategy = get_strategy(distribution.strategy) or (
        strategy_of(model) if isinstance(model, keras.Model) else None)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        train_data = shard_for_worker(train_data, strategy, batch_size)  # each its share
    with trained_under(model, strategy) as trained:
        plan = make_plan(trained, train_data, validation_data, epochs=epochs,
                         fine_tune_epochs=fine_tune_epochs, fine_tune_at=fine_tune_at,
                         learning_rate=learning_rate, keep_best=keep_best,
                         callbacks=callbacks, class_weight=class_weight,
                         batch_size=batch_size, verbose=verbose, **options)
        run = RunState()
        if distribution.backup_dir is not None:
            run.backup = RunBackup(distribution.backup_dir, trained)
            run.backup.restore_model(plan.verbose)
        with mixed_precision_for(trained, plan.precision):
            phase1, stop1 = _phase1(plan, run, trained)
            phase2 = stop2 = None
            if fine_tune_epochs:
                # Phase 1's weights, to ship if phase 2 does not beat them (not on a
                # run resumed inside phase 2: those weights are gone).
                saved = (phase1_weights(trained) if plan.keep_best == "across_phases"
                         and stop1 is not None and not (
                             run.backup is not None and run.backup.epochs_done(2))
                         else None)
                phase2, stop2 = run_watched(plan, run, 2, _fine_tune, trained)
                if saved is not None and stop2 is not None:
                    stop2 = keep_the_better_phase(trained, saved, phase1, phase2, stop2,
                                                  plan.verbose)
        if run.backup is not None:
            run.backup.finish()
    if options["caching"].store is None:  # the process's cache: nothing stays behind
        plan.store.clear()
    return TwoPhaseHistory(phase1, phase2, stops=(stop1, stop2),
                           training_data=data_card(train_data, class_names_of(model)))


def _phase1(plan, run, model):
    """Phase 1, or its history alone when a resumed run had finished it."""
    if run.backup is not None and run.backup.phase1_done():
        history = run.backup.joined(1, keras.callbacks.History())
        run.epochs_run = len(history.epoch)
        return history, run.backup.phase1_stop()
    history, stop = run_watched(plan, run, 1, _train_head, model)
    if run.backup is not None:
        run.backup.mark_phase1_done(stop)
    return history, stop


# === Phase 1 ===

def _train_head(model, plan, run, watchers):
    compile_model(model, plan.compile_args, plan.learning_rate)
    say(f"Phase 1/2: training the head, base '{get_base(model).name}' frozen: "
        + (f"until the validation loss stops improving (at most {plan.epochs} epochs)"
           if plan.converge else plural(plan.epochs, "epoch"))
        + f" at learning rate {plan.learning_rate:g} "
        f"({_count(model.trainable_weights)} trainable parameters).", plan.verbose)
    if not plan.epochs:
        history = keras.callbacks.History()
        history.history = {}
        return history
    if plan.cache is not None:
        return train_head_on_features(model, plan, run, watchers)
    if plan.no_cache_reason != "Caching.features=False":
        say(f"Feature cache off ({plan.no_cache_reason}): the base runs every epoch.",
            plan.verbose)
    with unknown_length_is_expected():
        return fit(model, initial_epoch=run.resumed_epochs, epochs=plan.epochs,
                   **_with_callbacks(plan.fit_args, watchers))


# === Phase 2 ===

def _fine_tune(model, plan, run, watchers):
    if plan.lora_rank is not None:
        adapted = enable_lora(model, plan.lora_rank)
        layers = plural(adapted, "attention projection")
        what = (f"LoRA adapters of rank {plan.lora_rank} on {layers} of "
                f"'{get_base(model).name}', the rest frozen")
    else:
        unfrozen = unfreeze_base(model, plan.fine_tune_index, recompile=False)
        what = (f"fine-tuning the top of '{get_base(model).name}' "
                f"({plural(len(unfrozen), 'layer')} with weights unfrozen, "
                "BatchNormalization kept frozen)")
    steps = None if plan.cut is not None else steps_per_epoch(plan.fit_args)
    compile_model(model, plan.compile_args, phase2_learning_rate(
        plan.fine_tune_learning_rate, plan.schedule, plan.fine_tune_epochs, steps))
    say(f"Phase 2/2: {what}: {plural(plan.fine_tune_epochs, 'epoch')} "
        f"{describe_schedule(plan.schedule, plan.fine_tune_learning_rate)} "
        f"({_count(model.trainable_weights)} trainable parameters).", plan.verbose)
    if plan.cut is not None:
        return fine_tune_on_activations(model, plan, run, watchers)
    if plan.no_cut_reason != "Caching.activations=False":
        say(f"Activation cache off ({plan.no_cut_reason}): the whole base runs every "
            "epoch.", plan.verbose)
    if plan.schedule != "constant" and steps is None:  # set an epoch at a time
        watchers = list(watchers) + [EpochCosine(plan.fine_tune_learning_rate,
                                                 plan.fine_tune_epochs, run.epochs_run)]
    with unknown_length_is_expected():
        return fit(model, initial_epoch=run.epochs_run + run.resumed_epochs,
                   epochs=run.epochs_run + plan.fine_tune_epochs,
                   **_with_callbacks(plan.fit_args, watchers))


def _with_callbacks(fit_args, extra):
    return dict(fit_args, callbacks=list(fit_args["callbacks"] or []) + list(extra))


def _count(weights):
    return f"{sum(int(np.prod(w.shape)) for w in weights):,}"
