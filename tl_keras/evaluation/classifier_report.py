"""The final evaluation of a classifier on a test set: what the card and the gate report."""

import numpy as np

from tl_keras.data import fingerprints
from tl_keras.evaluation.calibration import calibration_of
from tl_keras.evaluation.calibration import uncalibrated
from tl_keras.evaluation.scores import expected_calibration_error
from tl_keras.evaluation.scores import labels_and_probabilities
from tl_keras.evaluation.scores import log_loss


def evaluate_classifier(model, data, *, class_names=None):
    """Evaluates `model` on held-out `data`: the figures a model card reports.

    Run it once, on a test set that nothing in training or selection read
    (`image_dataset(..., test_split=0.1)` cuts one): its figures are the ones
    to trust. The predictions are the model's as it is, so they are the
    shipped weights' (and calibration's, when `tl_keras.calibrate` ran).

    Args:
        model: a classifier with softmax outputs, or one sigmoid unit for two
            classes (a `tl_keras` model, or any Keras model like it).
        data: a batched `tf.data.Dataset` of `(inputs, labels)` or a tuple
            `(x, y)`; labels are class indices (or one-hot rows).
        class_names: names of the classes, in output order. Defaults to
            `None`: the model's own `class_names`, else `"0"`, `"1"`, ...

    Returns:
        A JSON-ready dict: `examples`, `accuracy`, `loss` (mean negative
        log-likelihood), `per_class` (`{name: {precision, recall, examples}}`),
        `confusion_matrix` (rows: true class, columns: predicted),
        `expected_calibration_error` (and, for a calibrated model,
        `expected_calibration_error_uncalibrated`), and `fingerprint` (of a
        dataset from `tl_keras.image_dataset` / `text_dataset` or arrays,
        else None).

    Raises:
        ValueError: empty data, or labels outside the model's classes.

    Example:

    >>> # train, val, test, class_names = tl_keras.image_dataset(
    >>> #     "flower_photos", image_size=224, test_split=0.1)
    >>> report = tl_keras.evaluate_classifier(model, test)
    >>> sorted(report)[:3]
    ['accuracy', 'confusion_matrix', 'examples']
    """
    labels, probabilities = labels_and_probabilities(model, data)
    classes = probabilities.shape[1]
    names = list(class_names or getattr(model, "class_names", None) or
                 [str(i) for i in range(classes)])
    if len(names) != classes:
        raise ValueError(f"Expected {classes} class names for the model's outputs. "
                         f"Received: class_names={names}")
    if len(labels) and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"Expected labels in [0, {classes}) for a model of {classes} "
                         f"classes. Received: labels from {labels.min()} to {labels.max()}")
    predicted = probabilities.argmax(axis=1)
    matrix = np.zeros((classes, classes), dtype="int64")
    np.add.at(matrix, (labels, predicted), 1)
    per_class = {}
    for index, name in enumerate(names):
        said = matrix[:, index].sum()
        actual = matrix[index].sum()
        per_class[name] = {
            "precision": float(matrix[index, index] / said) if said else None,
            "recall": float(matrix[index, index] / actual) if actual else None,
            "examples": int(actual),
        }
    report = {
        "examples": int(len(labels)),
        "accuracy": float(np.trace(matrix) / max(len(labels), 1)),
        "loss": log_loss(labels, probabilities),
        "per_class": per_class,
        "confusion_matrix": matrix.tolist(),
        "expected_calibration_error": expected_calibration_error(labels, probabilities),
    }
    if calibration_of(model) is not None:
        report["expected_calibration_error_uncalibrated"] = expected_calibration_error(
            labels, uncalibrated(model, probabilities))
    digest = fingerprints.fingerprint(data)
    report["fingerprint"] = digest.hex() if digest is not None else None
    return report


def summary_line(report, what="test"):
    """`"Test (200 examples): accuracy 0.915, loss 0.231, ECE 0.031"`."""
    line = (f"{what.capitalize()} ({report['examples']:,} examples): accuracy "
            f"{report['accuracy']:.3f}, loss {report['loss']:.3f}, "
            f"ECE {report['expected_calibration_error']:.3f}")
    if "expected_calibration_error_uncalibrated" in report:
        line += f" ({report['expected_calibration_error_uncalibrated']:.3f} uncalibrated)"
    return line
