"""Two-phase transfer learning: train the head on a frozen base, then fine-tune.

```python
history = tlk.fit_two_phase(model, train, val, epochs=5, fine_tune_epochs=5)
```

Phase 1 freezes the base and trains the head. Phase 2 unfreezes the top of the
base (from `fine_tune_at`), keeps every BatchNormalization layer frozen (so it
runs in inference mode and its statistics never drift), recompiles at a low
learning rate and goes on counting epochs, so the curves of both phases join.
"""

import contextlib
import math
import warnings

import keras
import numpy as np
import tensorflow as tf

from tl_keras import features as feature_cache
from tl_keras.models import get_base

DEFAULT_FINE_TUNE_AT = 2 / 3  # unfreeze the top third of the base's layers


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
    """

    def __init__(self, phase1, phase2=None):
        self.phases = (phase1, phase2)
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

    def __repr__(self):
        return (f"TwoPhaseHistory(epochs={len(self.epoch)}, "
                f"fine_tune_epoch={self.fine_tune_epoch}, metrics={list(self.history)})")


def _num_epochs(history):
    return max((len(values) for values in history.values()), default=0)


# === Freezing ===

def freeze_base(model, *, recompile=True):
    """Freezes the whole base of `model` (phase 1).

    Args:
        model: a model built by `tl_keras.build_model`.
        recompile: recompile a compiled model with its own compile settings
            (and a fresh optimizer), so training never runs with a stale
            `trainable` state. Defaults to `True`.

    Returns:
        The base.

    Example:

    >>> tl_keras.freeze_base(model)
    """
    base = get_base(model)
    base.trainable = False
    if recompile:
        _recompile_as_is(model)
    return base


def unfreeze_base(model, fine_tune_at=None, *, recompile=True):
    """Unfreezes the top of the base of `model` for fine-tuning (phase 2).

    Layers from `fine_tune_at` on become trainable; the layers below it stay
    frozen, and every BatchNormalization layer stays frozen wherever it is, so
    it keeps running in inference mode with its pre-trained statistics.
    Nested models inside the base (an exported model used as a base) are
    flattened: positions count their innermost layers.

    Args:
        model: a model built by `tl_keras.build_model`.
        fine_tune_at: where unfreezing starts: a layer name, a layer index
            (negative counts from the top), or a fraction in [0, 1) of the
            base's layers (`0.0` unfreezes all). Defaults to `None`: `2/3`,
            the top third. A base of one layer (a TF Hub module) is unfrozen
            as a whole.
        recompile: recompile a compiled model with its own compile settings.
            Defaults to `True`.

    Returns:
        The names of the layers with weights that are now trainable.

    Raises:
        ValueError: if `fine_tune_at` names no layer of the base, or is out of
            range.

    Example:

    >>> tl_keras.unfreeze_base(model, fine_tune_at="block_13_expand")
    """
    base = get_base(model)
    layers = _leaf_layers(base)
    start = _fine_tune_index(layers, fine_tune_at, base.name)
    base.trainable = True
    unfrozen = []
    for index, layer in enumerate(layers):
        trainable = index >= start and not isinstance(
            layer, keras.layers.BatchNormalization
        )
        layer.trainable = trainable
        if trainable and layer.weights:
            unfrozen.append(layer.name)
    if recompile:
        _recompile_as_is(model)
    return unfrozen


def _leaf_layers(model):
    if not isinstance(model, keras.Model):  # a single-layer base (an embedding)
        return [model]
    leaves = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            leaves.extend(_leaf_layers(layer))
        else:
            leaves.append(layer)
    return leaves


def _fine_tune_index(layers, fine_tune_at, base_name):
    count = len(layers)
    if count == 1:  # a TF Hub module: no layers to cut, unfrozen as a whole
        return 0
    if fine_tune_at is None:
        fine_tune_at = DEFAULT_FINE_TUNE_AT
    if isinstance(fine_tune_at, str):
        names = [layer.name for layer in layers]
        if fine_tune_at not in names:
            raise ValueError(
                f"No layer named {fine_tune_at!r} in base '{base_name}'. Its layers run "
                f"from {names[0]!r} to {names[-1]!r} ({count} layers; see "
                f"tl_keras.get_base(model).summary()). Received: fine_tune_at={fine_tune_at!r}"
            )
        return names.index(fine_tune_at)
    if isinstance(fine_tune_at, bool):
        pass
    elif isinstance(fine_tune_at, (int, np.integer)):
        if -count <= fine_tune_at < count:
            return int(fine_tune_at) % count
    elif isinstance(fine_tune_at, float) and 0.0 <= fine_tune_at < 1.0:
        return int(round(fine_tune_at * count))
    raise ValueError(
        "Expected `fine_tune_at` to be a layer name, a layer index in "
        f"[{-count}, {count}) or a fraction in [0, 1) of the {count} layers of base "
        f"'{base_name}'. Received: fine_tune_at={fine_tune_at!r}"
    )


# === Loss and metrics from the labels ===

def _output_activation(model):
    activation = getattr(model.layers[-1], "activation", None)
    return getattr(activation, "__name__", "linear")


def _label_kind(labels, units, activation):
    """Returns 'sparse', 'binary', 'one_hot' or 'multi_label' for these labels."""
    shape = labels.shape
    if len(shape) == 1 or (len(shape) == 2 and shape[-1] == 1 and units > 1):
        return "binary" if units == 1 else "sparse"
    if len(shape) == 2 and shape[-1] == units:
        if units == 1:
            return "binary"
        return "multi_label" if activation == "sigmoid" else "one_hot"
    raise ValueError(
        f"Labels do not match the model's output of {units} units: expected integer "
        f"class indices of shape (batch,) or one-hot/multi-hot labels of shape "
        f"(batch, {units}). Received: labels of shape {tuple(shape)}"
    )


def _check_label_values(labels, kind, units):
    labels = np.asarray(labels)
    if kind == "sparse":
        bad = labels[(labels < 0) | (labels >= units) | (labels != np.floor(labels))]
        expected = f"integers in [0, {units})"
    else:
        bad = labels[(labels < 0) | (labels > 1)]
        expected = "values in [0, 1]"
    if bad.size:
        raise ValueError(
            f"Labels out of range: expected {expected} for a model with {units} output "
            f"units. Received: labels including {sorted(set(bad.ravel().tolist()))[:5]}"
        )


def _auto_compile_args(kind, activation):
    """A factory of fresh loss and metric objects chosen from the labels.

    Each compile gets its own objects: a metric object shared between two
    compiled models (the head and the full model) would mix their counts.
    """
    from_logits = activation == "linear"

    def make():
        if kind == "sparse":
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
            metric = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        elif kind == "one_hot":
            loss = keras.losses.CategoricalCrossentropy(from_logits=from_logits)
            metric = keras.metrics.CategoricalAccuracy(name="accuracy")
        else:  # binary, multi_label
            loss = keras.losses.BinaryCrossentropy(from_logits=from_logits)
            metric = keras.metrics.BinaryAccuracy(
                name="accuracy", threshold=0.0 if from_logits else 0.5)
        return {"loss": loss, "metrics": [metric]}

    return make


def _user_compile_args(model):
    """A factory of fresh compile arguments from the model's own compile config."""
    config = model.get_compile_config() if model.compiled else None
    if not config:
        return None
    return lambda: keras.saving.deserialize_keras_object(config)


def _compile(model, compile_args, learning_rate, **overrides):
    args = dict(compile_args(), **overrides)
    optimizer = args.pop("optimizer", None)
    if isinstance(optimizer, keras.optimizers.Optimizer):
        config = optimizer.get_config()
        config["learning_rate"] = learning_rate
        optimizer = optimizer.__class__.from_config(config)
    else:
        optimizer = keras.optimizers.Adam(learning_rate)
    model.compile(optimizer=optimizer, **args)


def _recompile_as_is(model):
    make = _user_compile_args(model)
    if make:
        model.compile(**make())


# === Data ===

def _split_arrays(data, name):
    if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
        raise ValueError(
            f"Expected `{name}` to be a batched tf.data.Dataset of (images, labels) or "
            f"a tuple (x, y) of arrays. Received: {name} of type {type(data).__name__}"
        )
    x, y = np.asarray(data[0]), np.asarray(data[1])
    if len(x) != len(y):
        raise ValueError(
            f"`{name}` has {len(x)} inputs but {len(y)} labels; they must match. "
            f"Received: x.shape={x.shape}, y.shape={y.shape}"
        )
    return x, y


def _dataset_sample(dataset, name, input_rank):
    spec = dataset.element_spec
    if not isinstance(spec, tuple) or len(spec) not in (2, 3):
        raise ValueError(
            f"Expected `{name}` to yield (images, labels) or (images, labels, "
            f"sample_weights) pairs. Received: element_spec={spec}"
        )
    if spec[0].shape.rank is not None and spec[0].shape.rank != input_rank:
        raise ValueError(
            f"Expected `{name}` to be batched, with inputs of rank {input_rank}: "
            f"call dataset.batch(32) first. Received: inputs of shape {spec[0].shape}"
        )
    for batch in dataset.take(1):
        return spec[0].shape, np.asarray(batch[1])
    raise ValueError(f"`{name}` is empty: it yielded no batch. Received: {name}={dataset}")


def _check_input_shape(model, shape, name):
    expected = model.input_shape[1:]
    got = tuple(shape)[1:]
    if len(got) != len(expected) or any(
        e is not None and g is not None and e != g for e, g in zip(expected, got)
    ):
        raise ValueError(
            f"`{name}` does not fit the model: it expects inputs of shape "
            f"{expected} (batch first). Resize the images to the model's input size. "
            f"Received: inputs of shape {got}"
        )


def _with_label_check(dataset, kind, units):
    if kind != "sparse":
        return dataset

    def check(*element):
        labels = tf.cast(element[1], tf.int64)
        message = f"Labels out of range: expected integers in [0, {units})."
        with tf.control_dependencies([
            tf.debugging.assert_greater_equal(labels, tf.constant(0, tf.int64), message),
            tf.debugging.assert_less(labels, tf.constant(units, tf.int64), message),
        ]):
            return (element[0], tf.identity(element[1])) + tuple(element[2:])

    checked = dataset.map(check)
    fingerprint = getattr(dataset, feature_cache.FINGERPRINT_ATTR, None)
    if fingerprint is not None:  # the same data: the feature cache may reuse it
        setattr(checked, feature_cache.FINGERPRINT_ATTR, fingerprint)
    return checked


def _balanced_class_weight(labels, units):
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[-1] > 1:
        labels = labels.argmax(axis=-1)
    counts = np.bincount(labels.astype(int).ravel(), minlength=max(units, 2))
    total, present = counts.sum(), np.count_nonzero(counts)
    return {i: float(total / (present * c)) for i, c in enumerate(counts) if c}


def _fit_arguments(model, train_data, validation_data, batch_size, units, activation):
    """Checks the data against the model and returns `(fit_args, kind, labels)`.

    `kind` is the label kind ('sparse', 'binary', 'one_hot', 'multi_label');
    `labels` are all training labels for arrays, None for datasets.
    """
    input_rank = len(model.input_shape)
    fit_args = {}
    if isinstance(train_data, tf.data.Dataset):
        shape, sample_labels = _dataset_sample(train_data, "train_data", input_rank)
        kind = _label_kind(sample_labels, units, activation)
        _check_label_values(sample_labels, kind, units)
        _check_input_shape(model, shape, "train_data")
        fit_args.update(x=_with_label_check(train_data, kind, units), shuffle=False)
        all_labels = None
    else:
        x, y = _split_arrays(train_data, "train_data")
        kind = _label_kind(y, units, activation)
        _check_label_values(y, kind, units)
        _check_input_shape(model, x.shape, "train_data")
        if x.dtype.kind in "USO":  # texts: Keras takes strings as tensors, not NumPy
            fit_args.update(x=tf.data.Dataset.from_tensor_slices((x.astype(str), y))
                            .shuffle(len(x), reshuffle_each_iteration=True)
                            .batch(batch_size), shuffle=False)
        else:
            fit_args.update(x=x, y=y, batch_size=batch_size, shuffle=True)
        all_labels = y
    if validation_data is not None:
        if isinstance(validation_data, tf.data.Dataset):
            shape, val_labels = _dataset_sample(validation_data, "validation_data",
                                                input_rank)
            val = _with_label_check(validation_data, kind, units)
        else:
            vx, val_labels = _split_arrays(validation_data, "validation_data")
            shape, val = vx.shape, (vx, val_labels)
            if vx.dtype.kind in "USO":
                val = tf.data.Dataset.from_tensor_slices((vx.astype(str), val_labels)) \
                    .batch(batch_size)
        _check_input_shape(model, shape, "validation_data")
        _check_label_values(val_labels, _label_kind(val_labels, units, activation), units)
        fit_args["validation_data"] = val
    return fit_args, kind, all_labels


# === The two phases ===

def fit_two_phase(model, train_data, validation_data=None, *, epochs=5,
                  fine_tune_epochs=5, fine_tune_at=None, learning_rate=1e-3,
                  fine_tune_learning_rate=1e-5, callbacks=None, class_weight=None,
                  batch_size=32, cache_features="auto", verbose="auto"):
    """Trains a transfer-learning model in two phases.

    Phase 1 trains the head with the base frozen at `learning_rate`. Phase 2
    unfreezes the base from `fine_tune_at` (BatchNormalization layers stay
    frozen), recompiles at `fine_tune_learning_rate` and trains
    `fine_tune_epochs` more epochs, numbered after phase 1's.

    Unless `model` is already compiled, the loss and an `accuracy` metric are
    chosen from the labels and the output layer: integer labels give sparse
    categorical cross-entropy (binary with one sigmoid unit), one-hot labels
    categorical cross-entropy, multi-hot labels with a sigmoid output binary
    cross-entropy. A compiled model keeps its loss, metrics and optimizer type;
    the learning rates are this function's.

    Args:
        model: a model built by `tl_keras.build_model`.
        train_data: a batched `tf.data.Dataset` of `(images, labels)`, or a
            tuple `(x, y)` of arrays.
        validation_data: the same kinds, or `None`. Defaults to `None`.
        epochs: epochs of phase 1 (head only). Defaults to `5`.
        fine_tune_epochs: epochs of phase 2; `0` skips it. Defaults to `5`.
        fine_tune_at: where unfreezing starts (see `tl_keras.unfreeze_base`).
            Defaults to `None`: the top third of the base.
        learning_rate: phase 1 learning rate. Defaults to `1e-3`.
        fine_tune_learning_rate: phase 2 learning rate. Defaults to `1e-5`.
        callbacks: Keras callbacks for both phases. Defaults to `None`.
        class_weight: a dict `{class_index: weight}`, `"balanced"` (weights
            inversely proportional to class frequency in `train_data`), or
            `None`. Defaults to `None`.
        batch_size: batch size for array inputs. Defaults to `32`.
        cache_features: phase 1 computes the frozen base's features once and
            trains the head on them, instead of running the base every epoch.
            `"auto"` does so when it gives the same result: no augmentation in
            front of the base, a head that is a chain of layers after
            `pooling`, and 2 or more epochs (otherwise it says why not and
            trains through the full model). `True` insists (an error says why
            it cannot), `False` never caches. Features are kept in memory, or
            in a file when larger than 2 GiB, and reused by later calls with
            the same base weights and data. Callbacks of a cached phase 1 see
            the head model. Defaults to `"auto"`.
        verbose: passed to `model.fit`; `0` also silences the phase lines.
            Defaults to `"auto"`.

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
    _check_counts(epochs=epochs, fine_tune_epochs=fine_tune_epochs)
    for arg, value in (("learning_rate", learning_rate),
                       ("fine_tune_learning_rate", fine_tune_learning_rate)):
        if not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"Expected `{arg}` > 0. Received: {arg}={value!r}")
    if cache_features not in ("auto", True, False):
        raise ValueError("Expected `cache_features` to be 'auto', True or False. "
                         f"Received: cache_features={cache_features!r}")
    base = get_base(model)
    units = model.output_shape[-1]
    activation = _output_activation(model)
    fit_args, kind, all_labels = _fit_arguments(model, train_data, validation_data,
                                                batch_size, units, activation)
    fine_tune_index = None
    if fine_tune_epochs:  # validate before any work
        fine_tune_index = _fine_tune_index(_leaf_layers(base), fine_tune_at, base.name)

    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError("Expected `class_weight` to be a dict, 'balanced' or None. "
                             f"Received: class_weight={class_weight!r}")
        if all_labels is None:
            all_labels = np.concatenate(
                [np.asarray(batch[1]) for batch in train_data], axis=0)
        class_weight = _balanced_class_weight(all_labels, units)
    fit_args.update(callbacks=callbacks, class_weight=class_weight, verbose=verbose)

    compile_args = _user_compile_args(model) or _auto_compile_args(kind, activation)
    say = print if verbose != 0 else (lambda *a, **k: None)

    freeze_base(model, recompile=False)
    split, reason = (None, "cache_features=False")
    if cache_features and epochs:
        split, reason = feature_cache.split_head(model)
        if split and epochs < 2 and cache_features == "auto":
            split, reason = None, "one epoch gains nothing from it"
        if split is None and cache_features is True:
            raise ValueError(f"Cannot cache phase 1 features: {reason}. "
                             "Received: cache_features=True")

    _compile(model, compile_args, learning_rate)
    say(f"Phase 1/2: training the head, base '{base.name}' frozen: {epochs} epochs at "
        f"learning rate {learning_rate:g} ({_count(model.trainable_weights)} "
        "trainable parameters).")
    if not epochs:
        phase1 = keras.callbacks.History()
        phase1.history = {}
    elif split is not None:
        phase1 = _fit_head_on_features(split, fit_args, compile_args, learning_rate,
                                       epochs, batch_size, say)
    else:
        if cache_features and reason:
            say(f"Feature cache off ({reason}): the base runs every epoch.")
        with _unknown_length_is_expected():
            phase1 = model.fit(epochs=epochs, **fit_args)
    if not fine_tune_epochs:
        return TwoPhaseHistory(phase1)

    unfrozen = unfreeze_base(model, fine_tune_index, recompile=False)
    _compile(model, compile_args, fine_tune_learning_rate)
    say(f"Phase 2/2: fine-tuning the top of '{base.name}' ({len(unfrozen)} layers with "
        f"weights unfrozen, BatchNormalization kept frozen): {fine_tune_epochs} epochs "
        f"at learning rate {fine_tune_learning_rate:g} "
        f"({_count(model.trainable_weights)} trainable parameters).")
    with _unknown_length_is_expected():
        phase2 = model.fit(initial_epoch=epochs, epochs=epochs + fine_tune_epochs,
                           **fit_args)
    return TwoPhaseHistory(phase1, phase2)


def _fit_head_on_features(split, fit_args, compile_args, learning_rate, epochs,
                          batch_size, say):
    """Phase 1 on cached features: one pass of the base, then `epochs` of the head.

    The head shares its layers with the full model, so the trained weights are
    the full model's.
    """
    extractor, head = split
    verbose = fit_args["verbose"]
    train = fit_args["x"] if "y" not in fit_args else (fit_args["x"], fit_args["y"])
    head_batch = feature_cache.head_batch_size(train, batch_size)
    train_features, hit = feature_cache.cached_features(
        extractor, train, batch_size=batch_size, verbose=verbose)
    say(f"Feature cache: {'reused' if hit else 'computed'} the frozen base's features of "
        f"{len(train_features.x)} training examples ({train_features.x.shape[1]} each); "
        "the base runs once, not every epoch.")
    validation = None
    if fit_args.get("validation_data") is not None:
        val_features, _ = feature_cache.cached_features(
            extractor, fit_args["validation_data"], batch_size=batch_size, verbose=verbose)
        validation = tuple(a for a in val_features if a is not None)
        if not isinstance(val_features.x, np.memmap):
            validation = _feature_data(val_features, head_batch, shuffle=False)["x"]
    # A small head on features: one compiled call per epoch, not per batch.
    steps = -(-len(train_features.x) // head_batch)
    _compile(head, compile_args, learning_rate, steps_per_execution=max(1, min(steps, 256)))
    with _unknown_length_is_expected():
        return head.fit(
            **_feature_data(train_features, head_batch, shuffle=True), epochs=epochs,
            validation_data=validation, callbacks=fit_args["callbacks"],
            class_weight=fit_args["class_weight"], verbose=verbose,
        )


def _feature_data(features, batch_size, shuffle):
    """`fit` arguments for features: in memory, a shuffled tf.data pipeline (far
    less per-epoch overhead than NumPy arrays); memory-mapped, NumPy batches."""
    if isinstance(features.x, np.memmap):
        return dict(x=features.x, y=features.y, sample_weight=features.sample_weight,
                    batch_size=batch_size, shuffle="batch" if shuffle else False)
    arrays = tuple(a for a in features if a is not None)
    dataset = tf.data.Dataset.from_tensor_slices(arrays)
    if shuffle:
        dataset = dataset.shuffle(len(features.x), reshuffle_each_iteration=True)
    return dict(x=dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE), shuffle=False)


@contextlib.contextmanager
def _unknown_length_is_expected():
    """tl_keras pipelines skip undecodable images, so Keras cannot know their
    length and warns at the end of every epoch that the data "ran out"."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        yield


def _check_counts(**counts):
    for arg, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"Expected `{arg}` to be an integer >= 0. "
                             f"Received: {arg}={value!r}")


def _count(weights):
    return f"{sum(int(np.prod(w.shape)) for w in weights):,}"
