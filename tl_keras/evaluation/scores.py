"""A classifier's outputs on a dataset, and what is computed from them alone.

Probabilities in, so a model that outputs probabilities (softmax, or one
sigmoid unit for two classes) and its logits are handled alike.
"""

import numpy as np

from tl_keras.data import fingerprints
from tl_keras.log import no_retracing_warnings
from tl_keras.training.feature_cache import FeatureCache
from tl_keras.training.worker_loop import predict
from tl_keras.training.worker_loop import predict_batch

DEFAULT_BINS = 15


def check_labelled_data(data, arg="data"):
    """Refuses, before any work, what is not labelled data: a batched
    `tf.data.Dataset` of `(inputs, labels)` or a tuple `(x, y)` of arrays."""
    import tensorflow as tf

    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        if isinstance(spec, tuple) and len(spec) >= 2:
            return
    elif isinstance(data, (tuple, list)) and len(data) >= 2:
        return
    shown = repr(data) if len(repr(data)) <= 80 else repr(data)[:77] + "..."
    raise ValueError(
        "Expected labelled data: a batched tf.data.Dataset of (inputs, labels), as "
        "tl_keras.image_dataset or text_dataset return (train, val, test, class_names = "
        "tl_keras.image_dataset('folder', test_split=0.1)), or a tuple (x, y) of arrays. "
        f"Received: {arg}={shown}")


def labels_and_probabilities(model, data, batch_size=256):
    """`(labels, probabilities)` of `model` on `data`, with probabilities of shape
    `[n, classes]` (one sigmoid unit becomes two columns).

    `data` is a batched `tf.data.Dataset` of `(inputs, labels)` (or with sample
    weights) or a tuple `(x, y)` of arrays; labels are class indices or one-hot.
    """

    check_labelled_data(data)
    if isinstance(data, (tuple, list)):
        x, y = data[0], np.asarray(data[1])
        probabilities = predict(model, x if hasattr(x, "shape") else np.asarray(x),
                                batch_size=batch_size)
    else:
        ys, outputs = [], []
        with no_retracing_warnings():  # the last batch is smaller: one more trace
            for batch in data:
                inputs, labels = batch[0], batch[1]
                outputs.append(predict_batch(model, inputs))
                ys.append(np.asarray(labels))
        if not ys:
            raise ValueError("Expected data with at least one example. Received: an empty "
                             "dataset")
        y, probabilities = np.concatenate(ys), np.concatenate(outputs)
    return class_indices(y), two_columns(probabilities)


def frozen_features(model, data, batch_size=32):
    """`(features, labels)`: the feature vectors of a tl_keras model's frozen
    part on `data` (float32, in memory) and the labels as `data` holds them
    (None without labels), computed through a feature cache that keeps nothing."""

    with FeatureCache(max_entries=0) as cache:  # within its budget; nothing kept
        features, _ = cache.features(
            model.feature_model(), data, fingerprint=fingerprints.fingerprint(data),
            batch_size=batch_size, verbose=0)
        return np.array(features.x, dtype="float32"), features.y


def class_indices(y):
    """Integer class indices from indices, one-hot rows or `[n, 1]` binary labels."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1).astype("int64")
    return y.reshape(-1).round().astype("int64")


def two_columns(probabilities):
    """`[n, classes]` probabilities; one sigmoid unit `p` becomes `[1 - p, p]`."""
    p = np.asarray(probabilities, dtype="float64")
    if p.ndim == 1 or p.shape[1] == 1:
        p = p.reshape(-1, 1)
        return np.concatenate([1.0 - p, p], axis=1)
    return p


def expected_calibration_error(labels, probabilities, bins=DEFAULT_BINS):
    """The expected calibration error: the top class's confidence against its
    accuracy, in `bins` equal-width confidence bins, weighted by their counts
    (Guo et al., 2017). 0 is perfectly calibrated."""
    mean_confidence, accuracy, counts = reliability_bins(labels, probabilities, bins)
    filled = counts > 0
    weights = counts[filled] / counts.sum()
    return float(np.sum(weights * np.abs(accuracy[filled] - mean_confidence[filled])))


def reliability_bins(labels, probabilities, bins=DEFAULT_BINS):
    """Per bin: `(mean confidence, accuracy, count)`, as arrays (NaN where empty),
    for a reliability diagram and the calibration error."""
    confidence, correct = confidence_and_correct(labels, probabilities)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(which, confidence, bins) / counts
        accuracy = np.bincount(which, correct.astype("float64"), bins) / counts
    return mean_confidence, accuracy, counts


def confidence_and_correct(labels, probabilities):
    probabilities = two_columns(probabilities)
    predicted = probabilities.argmax(axis=1)
    return probabilities.max(axis=1), predicted == np.asarray(labels)


def log_loss(labels, probabilities):
    """Mean negative log-likelihood of the true classes (probabilities clipped at
    1e-300, so a confident mistake costs its real, large loss)."""
    probabilities = two_columns(probabilities)
    true = probabilities[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.clip(true, 1e-300, 1.0))))
