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

from tl_keras.console import plural
from tl_keras.console import say
from tl_keras.models.parts import get_base
from tl_keras.training.backup import RunBackup
from tl_keras.training.cached_training import fine_tune_on_activations
from tl_keras.training.cached_training import train_head_on_features
from tl_keras.training.cached_training import unknown_length_is_expected
from tl_keras.training.distribution import get_strategy
from tl_keras.training.distribution import trained_under
from tl_keras.training.freezing import unfreeze_base
from tl_keras.training.history import TwoPhaseHistory
from tl_keras.training.lora import enable_lora
from tl_keras.training.losses import compile_model
from tl_keras.training.planning import make_plan
from tl_keras.training.precision import mixed_precision_for
from tl_keras.training.schedules import EpochCosine
from tl_keras.training.schedules import describe
from tl_keras.training.schedules import phase2_learning_rate
from tl_keras.training.schedules import steps_per_epoch
from tl_keras.training.watching import run_watched
from tl_keras.training.worker_loop import fit
from tl_keras.training.worker_loop import shard_for_worker


def fit_two_phase(model, train_data, validation_data=None, *, epochs=None,
                  fine_tune_epochs=5, fine_tune_at=None, learning_rate=1e-3,
                  fine_tune_learning_rate=None, callbacks=None, class_weight=None,
                  batch_size=32, cache_features="auto", fine_tune_cache="auto",
                  feature_cache=None, keep_best=True, fine_tune_schedule="cosine",
                  mixed_precision=None, jit_compile="auto", backup_dir=None,
                  strategy=None, lora_rank=None, verbose="auto"):
    """Trains a transfer-learning model in two phases.

    Phase 1 trains the head with the base frozen at `learning_rate`. Phase 2
    unfreezes the base from `fine_tune_at` (BatchNormalization layers stay
    frozen), recompiles at `fine_tune_learning_rate` and trains
    `fine_tune_epochs` more epochs, numbered after phase 1's.

    When phase 1 runs on cached features (an epoch of the head then costs
    milliseconds) and there is validation data, it runs until the validation
    loss stops improving, up to 100 epochs, unless `epochs` is given. With
    validation data, each phase ends with the weights of its best epoch (the
    lowest validation loss); `history.stops` says where each phase stopped and
    which epoch it kept.

    Unless `model` is already compiled, the loss and an `accuracy` metric are
    chosen from the labels and the output layer: integer labels give sparse
    categorical cross-entropy (binary with one sigmoid unit), one-hot labels
    categorical cross-entropy, multi-hot labels with a sigmoid output binary
    cross-entropy. A compiled model keeps its loss, metrics and optimizer type;
    the learning rates are this function's.

    Args:
        model: a model built by `tl_keras.build_model` or `build_text_model`
            (or a model of your own with one nested base: see
            `tl_keras.get_base`).
        train_data: a batched `tf.data.Dataset` of `(images, labels)`, or a
            tuple `(x, y)` of arrays.
        validation_data: the same kinds, or `None`. Defaults to `None`.
        epochs: epochs of phase 1 (head only). Defaults to `None`: until the
            validation loss stops improving (5 epochs without a better one, up
            to 100) when phase 1 runs on cached features with validation data,
            else 5.
        fine_tune_epochs: epochs of phase 2; `0` skips it. Defaults to `5`.
        fine_tune_at: where unfreezing starts (see `tl_keras.unfreeze_base`).
            Defaults to `None`: the top third of the base.
        learning_rate: phase 1 learning rate. Defaults to `1e-3`.
        fine_tune_learning_rate: phase 2 learning rate (its peak with the
            `"cosine"` schedule). Defaults to `None`: 3e-4, or 3e-3 for a text
            model over word vectors (its embedding then moves), each chosen
            with the schedule on real data (see `benchmarks/README.md`).
        fine_tune_schedule: `"cosine"`: a linear warm-up over the first tenth
            of phase 2's steps, then a cosine decay to 0 (an epoch at a time
            when a pipeline's length is unknown); or `"constant"`. Defaults to
            `"cosine"`.
        callbacks: Keras callbacks for both phases. Defaults to `None`.
        class_weight: a dict `{class_index: weight}`, `"balanced"` (weights
            inversely proportional to class frequency in `train_data`), or
            `None`. Defaults to `None`.
        batch_size: batch size for array inputs. Defaults to `32`.
        cache_features: phase 1 computes the frozen base's features once and
            trains the head on them, instead of running the base every epoch.
            `"auto"` does so when it gives the same result (a tl_keras model,
            no augmentation and nothing trainable in front of the head, 2 or
            more epochs; otherwise it says why not and trains through the full
            model). `True` insists (an error says why it cannot), `False` never
            caches. Callbacks of a cached phase 1 see the head model.
            Defaults to `"auto"`.
        fine_tune_cache: phase 2 computes the output of the frozen layers
            below `fine_tune_at` once and trains only the unfrozen top on it.
            `"auto"` does so when that output is fixed (no augmentation, no
            random layer below the cut, a clean cut in the base's graph, 2 or
            more epochs; otherwise one line says why not), `True` insists,
            `False` never caches. Callbacks of a cached phase 2 see the top
            model. Defaults to `"auto"`.
        feature_cache: the `FeatureCache` that keeps features and activations
            (in memory, or in spill files it removes) for reuse by later calls
            with the same base weights and data. Defaults to `None`: the
            process's default cache.
        keep_best: with validation data, end each phase with the weights of its
            best epoch. Defaults to `True`.
        mixed_precision: `None` (float32), `"float16"` or `"bfloat16"`: the
            layers compute in that type during training (variables, the output
            layer, preprocessing and TF Hub modules stay float32; float16 adds
            loss scaling), and have their own policies back after it, so the
            model saves and exports as it was built. A GPU (float16) or a
            recent CPU or TPU (bfloat16) runs faster; elsewhere it is slower.
            Defaults to `None`.
        jit_compile: compile the training steps with XLA: `True`, `False`, or
            `"auto"` (Keras's choice). Defaults to `"auto"`.
        backup_dir: a directory where the run saves itself at the end of each
            epoch (weights, optimizer state, phase, epoch, history, the best
            epoch so far). Calling `fit_two_phase` again with the same model,
            data and `backup_dir` after an interruption (a preempted VM, a
            `kill -9`) resumes after the last finished epoch, in phase 1 or 2,
            with the history joined; a finished run removes the backup. Across
            workers the chief alone writes it, and every worker resumes from
            it: put it on storage they all see. Defaults to `None`.
        strategy: a `tf.distribute.Strategy`, or `"mirrored"` (every GPU of
            this machine), `"multi_worker"` (the machines in `TF_CONFIG`) or
            `"tpu"`. Each batch (`batch_size` is the global batch) is split
            across the replicas and the gradients summed by tf.distribute. A
            model built outside the strategy's scope is trained as a twin built
            in it, whose weights are then copied back. Across workers
            (`MultiWorkerMirroredStrategy`, created when the program starts),
            every worker runs the same call: each takes its share of the
            training batches, computes the cached features of its share, and
            evaluates the whole validation set (global metrics); a loop through
            `strategy.run` replaces Keras's `fit`, which fails there
            (keras-team/keras#20585). Defaults to `None`.
        lora_rank: phase 2 as LoRA adapters of this rank on the attention
            layers of a KerasHub transformer backbone (`Backbone.enable_lora`),
            the rest of the base frozen, instead of unfreezing its top; refused
            before any training for a base without attention layers. Defaults
            to `None`.
        verbose: passed to `model.fit`; `0` also silences the phase lines;
            `"auto"` shows progress bars on a terminal or in a notebook and a line
            per epoch when output goes to a file or a pipe. Defaults to `"auto"`.

    Returns:
        A `TwoPhaseHistory` with both phases merged and `fine_tune_epoch`.

    Raises:
        ValueError: before any training, for labels that do not fit the
            output (shape or range), inputs that do not fit the model, an
            unbatched dataset, or a bad `fine_tune_at`.

    Example:

    >>> history = tl_keras.fit_two_phase(model, train, val, epochs=5,
    ...                                  fine_tune_epochs=5)
    >>> history.fine_tune_epoch
    5
    """
    strategy = get_strategy(strategy)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        train_data = shard_for_worker(train_data, strategy, batch_size)  # each its share
    with trained_under(model, strategy) as trained:
        plan = make_plan(trained, train_data, validation_data, epochs=epochs,
                     fine_tune_epochs=fine_tune_epochs, fine_tune_at=fine_tune_at,
                     learning_rate=learning_rate,
                     fine_tune_learning_rate=fine_tune_learning_rate, callbacks=callbacks,
                     class_weight=class_weight, batch_size=batch_size,
                     cache_features=cache_features, fine_tune_cache=fine_tune_cache,
                     feature_cache=feature_cache, keep_best=keep_best,
                     fine_tune_schedule=fine_tune_schedule,
                     mixed_precision=mixed_precision, jit_compile=jit_compile,
                     verbose=verbose, lora_rank=lora_rank)
        if backup_dir is not None:
            plan.backup = RunBackup(backup_dir, trained)
            plan.backup.restore_model(plan.verbose)
        with mixed_precision_for(trained, plan.precision):
            phase1, stop1 = _phase1(plan, trained)
            phase2 = stop2 = None
            if fine_tune_epochs:
                phase2, stop2 = run_watched(plan, 2, _fine_tune, trained)
        if plan.backup is not None:
            plan.backup.finish()
    return TwoPhaseHistory(phase1, phase2, stops=(stop1, stop2))


def _phase1(plan, model):
    """Phase 1, or its history alone when a resumed run had finished it."""
    if plan.backup is not None and plan.backup.phase1_done():
        history = plan.backup.joined(1, keras.callbacks.History())
        plan.epochs_run = len(history.epoch)
        return history, plan.backup.phase1_stop()
    history, stop = run_watched(plan, 1, _train_head, model)
    if plan.backup is not None:
        plan.backup.mark_phase1_done(stop)
    return history, stop


# === Phase 1 ===

def _train_head(model, plan, watchers):
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
        return train_head_on_features(model, plan, watchers)
    if plan.no_cache_reason != "cache_features=False":
        say(f"Feature cache off ({plan.no_cache_reason}): the base runs every epoch.",
            plan.verbose)
    with unknown_length_is_expected():
        return fit(model, initial_epoch=plan.resumed_epochs, epochs=plan.epochs,
                         **_with_callbacks(plan.fit_args, watchers))


# === Phase 2 ===

def _fine_tune(model, plan, watchers):
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
        f"{describe(plan.schedule, plan.fine_tune_learning_rate)} "
        f"({_count(model.trainable_weights)} trainable parameters).", plan.verbose)
    if plan.cut is not None:
        return fine_tune_on_activations(model, plan, watchers)
    if plan.no_cut_reason != "fine_tune_cache=False":
        say(f"Activation cache off ({plan.no_cut_reason}): the whole base runs every "
            "epoch.", plan.verbose)
    if plan.schedule != "constant" and steps is None:  # set an epoch at a time
        watchers = list(watchers) + [EpochCosine(plan.fine_tune_learning_rate,
                                                 plan.fine_tune_epochs, plan.epochs_run)]
    with unknown_length_is_expected():
        return fit(model, initial_epoch=plan.epochs_run + plan.resumed_epochs,
                         epochs=plan.epochs_run + plan.fine_tune_epochs,
                         **_with_callbacks(plan.fit_args, watchers))


def _with_callbacks(fit_args, extra):
    return dict(fit_args, callbacks=list(fit_args["callbacks"] or []) + list(extra))


def _count(weights):
    return f"{sum(int(np.prod(w.shape)) for w in weights):,}"
