"""Training data checked against the model before any work, and made ready for `fit`."""

import collections
import warnings

import numpy as np
import tensorflow as tf

from tl_keras.data import fingerprints
from tl_keras.training.losses import check_label_values
from tl_keras.training.losses import label_kind

# fit_args: keyword arguments for `model.fit`; kind: the label kind; labels:
# all training labels for arrays (None for datasets); fingerprints: of the
# training and validation data as given (None when unknown).
TrainingData = collections.namedtuple(
    "TrainingData", "fit_args kind labels train_fingerprint validation_fingerprint")


def prepare_training_data(model, train_data, validation_data, batch_size, units,
                          activation):
    """Checks the data against the model and returns a `TrainingData`.

    Raises:
        ValueError: labels that do not fit the output (shape or range), inputs
            that do not fit the model, an unbatched or empty dataset.
    """
    input_rank = len(model.input_shape)
    _check_class_count(model, train_data, units, activation)
    fit_args = {}
    if isinstance(train_data, tf.data.Dataset):
        shape, sample_labels, sample_inputs = _dataset_sample(train_data, "train_data",
                                                              input_rank)
        kind = label_kind(sample_labels, units, activation)
        check_label_values(sample_labels, kind, units)
        _check_input_shape(model, shape, "train_data")
        fit_args.update(x=_with_label_check(train_data, kind, units), shuffle=False)
        all_labels = None
    else:
        x, y = _split_arrays(train_data, "train_data")
        sample_inputs = x
        kind = label_kind(y, units, activation)
        check_label_values(y, kind, units)
        _check_input_shape(model, x.shape, "train_data")
        if x.dtype.kind in "USO":  # texts: Keras takes strings as tensors, not NumPy
            fit_args.update(x=tf.data.Dataset.from_tensor_slices((x.astype(str), y))
                            .shuffle(len(x), reshuffle_each_iteration=True)
                            .batch(batch_size), shuffle=False)
        else:
            fit_args.update(x=x, y=y, batch_size=batch_size, shuffle=True)
        all_labels = y
    if getattr(model, "takes_pixels", False):
        _warn_about_unit_pixels(sample_inputs)
    validation_fingerprint = None
    if validation_data is not None:
        if isinstance(validation_data, tf.data.Dataset):
            shape, val_labels, _ = _dataset_sample(validation_data, "validation_data",
                                                   input_rank)
            val = _with_label_check(validation_data, kind, units)
        else:
            vx, val_labels = _split_arrays(validation_data, "validation_data")
            shape, val = vx.shape, (vx, val_labels)
            if vx.dtype.kind in "USO":
                val = tf.data.Dataset.from_tensor_slices((vx.astype(str), val_labels)) \
                    .batch(batch_size)
        _check_input_shape(model, shape, "validation_data")
        check_label_values(val_labels, label_kind(val_labels, units, activation), units)
        fit_args["validation_data"] = val
        validation_fingerprint = fingerprints.fingerprint(validation_data)
    return TrainingData(fit_args, kind, all_labels, fingerprints.fingerprint(train_data),
                        validation_fingerprint)


def _check_class_count(model, train_data, units, activation):
    """Refuses data read with classes other than the model's: a model of 3 outputs
    on 2 classes trains (the third class is never seen) and says nothing."""
    names = fingerprints.known_class_names(train_data)
    if names is None:
        return
    expected = 2 if units == 1 and activation == "sigmoid" else units
    own = list(getattr(model, "class_names", None) or [])
    if len(names) != expected:
        raise ValueError(
            f"The model has {units} output unit(s), for {expected} classes, but the data "
            f"hold {len(names)} classes {names}. Build the model with "
            f"num_classes={len(names)} (tl_keras.build_model(..., num_classes="
            f"{len(names)}, class_names=class_names)). Received: train_data with "
            f"{len(names)} classes, a model with {units} output unit(s)")
    if own and own != names:
        raise ValueError(
            f"The model's class names {own} differ from the data's {names}: its outputs "
            "would be trained to mean other classes. Build the model with the data's "
            f"class_names. Received: model.class_names={own}, data classes={names}")


def _warn_about_unit_pixels(images):
    """A first batch of pixels all in [0, 1] is most likely rescaled already (a
    `Rescaling(1/255)` in the pipeline): the model rescales inside."""
    images = np.asarray(images)
    if images.size and images.dtype.kind == "f" and float(images.max()) <= 1.0:
        warnings.warn(
            "The training images look like pixels in [0, 1] (the first batch's maximum "
            f"is {float(images.max()):.3g}), but a tl_keras image model takes RGB pixels "
            "in [0, 255] and does the base's preprocessing inside. Remove the rescaling "
            "from your pipeline (tl_keras.image_dataset gives [0, 255]).",
            UserWarning, stacklevel=4)


def balanced_class_weight(labels, units):
    """`{class: weight}` inversely proportional to each class's frequency."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[-1] > 1:
        labels = labels.argmax(axis=-1)
    counts = np.bincount(labels.astype(int).ravel(), minlength=max(units, 2))
    total, present = counts.sum(), np.count_nonzero(counts)
    return {i: float(total / (present * c)) for i, c in enumerate(counts) if c}


def check_counts(**counts):
    for arg, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"Expected `{arg}` to be an integer >= 0. "
                             f"Received: {arg}={value!r}")


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
        return spec[0].shape, np.asarray(batch[1]), np.asarray(batch[0])
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

    return dataset.map(check)
