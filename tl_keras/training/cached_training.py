"""The two phases on cached data: the head on features, the top on activations.

Each runs one pass of the frozen part (or reuses it from the `FeatureCache`),
then trains the model's own trainable layers on the cached outputs, so the
full model holds the trained weights.
"""

import contextlib
import warnings

import numpy as np
import tensorflow as tf

from tl_keras.log import plural
from tl_keras.log import say
from tl_keras.training.feature_cache import head_batch_size
from tl_keras.training.feature_pass import Features
from tl_keras.training.losses import compile_model
from tl_keras.training.schedules import phase2_learning_rate
from tl_keras.training.worker_loop import fit
from tl_keras.training.worker_loop import predict


def train_head_on_features(model, plan, run, watchers=()):
    """Phase 1 on cached features: one pass of the base, then `epochs` of the head.

    When phase 2 will run on cached activations, that one pass stops at the cut:
    the features come from the activations through the rest of the frozen base,
    and phase 2 reuses the activations, so the inputs are read once for both
    phases. The head model shares its layers with the full model, so the
    trained weights are the full model's.
    """
    sets = _features_through_cut(plan, run)
    source = ""
    if sets is not None:
        source = f" (through the activations at '{plan.cut.cut_layer.name}', kept for phase 2)"
    else:
        sets = _cached_sets(model.feature_model(), plan, store=plan.cache)
    train_features, val_features, head_batch, hit = sets
    say(f"Feature cache: {'reused' if hit else 'computed'} the frozen base's features of "
        f"{plural(len(train_features.x), 'training example')} "
        f"({train_features.x.shape[1]} each){source}; "
        "the base runs once, not every epoch.", plan.verbose)
    # A small head on features: one compiled call per epoch, not per batch.
    steps = -(-len(train_features.x) // head_batch)
    head = model.head_model()
    compile_model(head, plan.compile_args, plan.learning_rate,
                  steps_per_execution=steps_per_call(steps, 256))
    with unknown_length_is_expected():
        history = fit(
            head,
            **_feature_data(train_features, head_batch, shuffle=True),
            initial_epoch=run.resumed_epochs, epochs=plan.epochs,
            validation_data=_validation(val_features, head_batch),
            callbacks=_callbacks(plan, watchers),
            class_weight=plan.fit_args["class_weight"], verbose=plan.verbose,
        )
    take_optimizer_state(model, head)
    return history


def _features_through_cut(plan, run):
    """Phase 1's features from the activations at phase 2's cut (kept in `run`
    for phase 2), or None when phase 2 does not run on cached activations or
    they do not fit in memory."""
    if plan.cut is None:
        return None
    train, val, batch, hit = _cached_sets(plan.cut.bottom, plan)
    if any(isinstance(s.x, np.memmap) for s in (train, val) if s is not None):
        return None
    run.activations = (train, val, batch, hit)
    upper = plan.cut.upper

    def through(activations):
        if activations is None:
            return None
        features = predict(upper, activations.x, batch_size=256)
        return Features(features, activations.y, activations.sample_weight)

    return through(train), through(val), batch, hit


def _callbacks(plan, watchers):
    return list(plan.fit_args["callbacks"] or []) + list(watchers)


def _cached_sets(extractor, plan, store=None):
    """The extractor's outputs for the training and validation data, from the
    store (computed on a miss): `(train, validation or None, batch size, hit)`."""
    store = store or plan.store
    fit_args = plan.fit_args
    train = fit_args["x"] if "y" not in fit_args else (fit_args["x"], fit_args["y"])
    batch = head_batch_size(train, plan.batch_size)
    features, hit = store.features(extractor, train, fingerprint=plan.data.train_fingerprint,
                                   batch_size=plan.batch_size, verbose=plan.verbose)
    val_features = None
    if fit_args.get("validation_data") is not None:
        val_features, _ = store.features(
            extractor, fit_args["validation_data"],
            fingerprint=plan.data.validation_fingerprint, batch_size=plan.batch_size,
            verbose=plan.verbose)
    return features, val_features, batch, hit


def _validation(features, batch_size):
    """`validation_data` for `fit` from cached features (or None)."""
    if features is None:
        return None
    return _feature_data(features, batch_size, shuffle=False)["x"]


def _feature_data(features, batch_size, shuffle):
    """`fit` arguments for features: in memory, a shuffled tf.data pipeline (far
    less per-epoch overhead than NumPy arrays); memory-mapped, their batches read
    one at a time (`_mapped_batches`)."""
    if isinstance(features.x, np.memmap):
        return dict(x=_mapped_batches(features, batch_size, shuffle), shuffle=False)
    arrays = tuple(a for a in features if a is not None)
    dataset = tf.data.Dataset.from_tensor_slices(arrays)
    if shuffle:
        dataset = dataset.shuffle(len(features.x), reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    if features.x.dtype != np.float32:  # stored in float16: trained on in float32
        dataset = dataset.map(lambda x, *rest: (tf.cast(x, tf.float32), *rest))
    return dict(x=dataset.prefetch(tf.data.AUTOTUNE), shuffle=False)


def _mapped_batches(features, batch_size, shuffle):
    """A tf.data pipeline of batches sliced from memory-mapped features, in a new
    batch order each epoch when `shuffle`: training holds a batch or two in
    memory, never the whole set (Keras's array adapter would copy it)."""
    count = len(features.x)
    batches = -(-count // batch_size)
    arrays = [a for a in features if a is not None]

    def generate():
        order = np.random.permutation(batches) if shuffle else range(batches)
        for index in order:
            rows = slice(index * batch_size, (index + 1) * batch_size)
            yield tuple(np.asarray(a[rows], dtype="float32" if i == 0 else a.dtype)
                        for i, a in enumerate(arrays))

    signature = tuple(tf.TensorSpec((None,) + a.shape[1:],
                                    tf.float32 if i == 0 else tf.as_dtype(a.dtype))
                      for i, a in enumerate(arrays))
    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
    return dataset.apply(tf.data.experimental.assert_cardinality(batches)).prefetch(2)


def fine_tune_on_activations(model, plan, run, watchers=()):
    """Phase 2 on cached activations: one pass of the frozen bottom, then the
    unfrozen top (its layers are the model's own) trained on them."""
    if run.activations is not None:  # made by phase 1's pass
        activations, val_activations, batch, _ = run.activations
        hit = True
    else:
        activations, val_activations, batch, hit = _cached_sets(plan.cut.bottom, plan)
    top, cut_layer = plan.cut.top, plan.cut.cut_layer
    steps = -(-len(activations.x) // batch)
    say(f"Activation cache: {'reused' if hit else 'computed'} the output of the frozen "
        f"layers below '{cut_layer.name}' for "
        f"{plural(len(activations.x), 'training example')} "
        f"({'x'.join(map(str, activations.x.shape[1:]))} each); phase 2 trains the "
        "unfrozen top only.", plan.verbose)
    rate = phase2_learning_rate(plan.fine_tune_learning_rate, plan.schedule,
                                plan.fine_tune_epochs, steps)
    compile_model(top, plan.compile_args, rate, steps_per_execution=steps_per_call(steps, 32))
    with unknown_length_is_expected():
        history = fit(
            top,
            **_feature_data(activations, batch, shuffle=True),
            initial_epoch=run.epochs_run + run.resumed_epochs,
            epochs=run.epochs_run + plan.fine_tune_epochs,
            validation_data=_validation(val_activations, batch),
            callbacks=_callbacks(plan, watchers),
            class_weight=plan.fit_args["class_weight"], verbose=plan.verbose,
        )
    compile_model(model, plan.compile_args, rate)  # the top's schedule, so the state fits
    take_optimizer_state(model, top)
    return history


def take_optimizer_state(model, trainer):
    """Builds `model`'s optimizer on its trainable variables, with the state that
    `trainer`'s optimizer reached when both train the same variables in the
    same order (the head on features trains exactly the model's head).

    `keras.saving.load_model` builds a loaded model's optimizer on its trainable
    variables and warns "Skipping variable loading for optimizer" when the
    saved one has a different count; an optimizer never built (its model
    trained through a `trainer` sharing its layers) saved none.
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return
    variables = model.trainable_variables
    if not optimizer.built:
        optimizer.build(variables)
    same = [id(v) for v in trainer.trainable_variables] == [id(v) for v in variables]
    source = trainer.optimizer.variables
    if same and [tuple(v.shape) for v in source] == [
            tuple(v.shape) for v in optimizer.variables]:
        for target, value in zip(optimizer.variables, source):
            target.assign(value)


def steps_per_call(steps, most):
    """Training steps per compiled call: all of an epoch's `steps` when they are at
    most `most`, else the largest divisor of `steps` up to `most` (Keras's progress
    bar counts in calls: 25/50, 50/50 rather than 32/50, 64/50), unless that is
    under a quarter of `most`. One under a strategy of several replicas: Keras's
    multi-step loop fails there ("You must feed a value for placeholder tensor"
    in `multi_step_on_iterator` with two or more steps per call, seen with Keras
    3.15 on TensorFlow 2.20)."""
    if tf.distribute.has_strategy() and \
            tf.distribute.get_strategy().num_replicas_in_sync > 1:
        return 1
    if steps <= most:
        return max(1, steps)
    divisor = next(d for d in range(most, 0, -1) if steps % d == 0)
    return divisor if divisor * 4 >= most else most


@contextlib.contextmanager
def unknown_length_is_expected():
    """tl_keras pipelines skip undecodable images, so Keras cannot know their
    length and warns at the end of every epoch that the data "ran out"."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        yield
