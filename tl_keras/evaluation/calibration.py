"""Temperature scaling: probabilities that mean what they say, inside the model.

The output layer's logits `z` become `z / T`, with the one temperature `T`
that minimises the negative log-likelihood of the validation labels (Guo et
al., "On Calibration of Modern Neural Networks", 2017). Dividing logits by a
positive number never changes which class is on top, so accuracy is what it
was. `T` is folded into the output layer's kernel and bias, so Keras, the
`.keras` file, the SavedModel and TFLite all serve the calibrated
probabilities with no new layer and no new op, and the model's
`adaptations` record it (the card shows it).
"""

import math

import numpy as np

from tl_keras.evaluation.scores import check_labelled_data
from tl_keras.evaluation.scores import class_indices
from tl_keras.evaluation.scores import expected_calibration_error
from tl_keras.evaluation.scores import frozen_features
from tl_keras.evaluation.scores import log_loss
from tl_keras.evaluation.scores import two_columns
from tl_keras.log import say
from tl_keras.models.transfer_model import TransferModel

KIND = "temperature_scaling"
# Fewer validation examples than this fit a temperature to their own noise (11
# images fitted T = 100 and turned every prediction into ~0.50): not applied.
MIN_EXAMPLES = 20
CHECK_FOLDS = 5  # the temperature must lower the loss on folds it was not fitted on


def calibrate(model, validation_data, *, batch_size=32, verbose="auto"):
    """Calibrates `model`'s probabilities by temperature scaling on validation data.

    Fits one temperature on the logits of `validation_data` (one pass of the
    base for the feature vectors, then the head's layers) and folds it into
    the output layer, in seconds. The ranking of classes, hence the
    accuracy, does not change; the confidence does: an overconfident model's
    probabilities come down to its accuracy. A line says the temperature and
    the validation figures before and after. Calibrating again composes.

    It is applied only where it helps: with fewer than 20 validation examples,
    when a temperature fitted on 4/5 of them does not lower the loss on the
    other fifth (5 folds), or when the fit makes the validation calibration
    error worse, the model is left as it is and a line says why.

    Fit it on the validation data, not the test data, so that a test split's
    expected calibration error (`tl_keras.evaluate_classifier`) stays honest.

    Args:
        model: a `tl_keras.TransferModel` (from `build_model` or
            `build_text_model`) with a softmax or one-sigmoid-unit output.
        validation_data: a batched `tf.data.Dataset` of `(inputs, labels)` or a
            tuple `(x, y)`, not used for training.
        batch_size: for tuples of arrays. Defaults to `32`.
        verbose: print the line (`0` silences it). Defaults to `"auto"`.

    Returns:
        The record: `{"kind": "temperature_scaling", "applied", "temperature",
        "examples", "validation_loss": [before, after], "validation_ece":
        [before, after]}`, added to `model.adaptations` when applied; when not,
        `"applied": False`, `"temperature": 1.0` and `"reason"`.

    Raises:
        ValueError: a model that is not a tl_keras classifier, or validation
            data of one class only.

    Example:

    >>> record = tl_keras.calibrate(model, val)
    Calibration: ...
    >>> record["temperature"] > 0
    True
    """
    last = _output_layer(model)
    logits, labels = validation_logits(model, validation_data, batch_size)
    if len(np.unique(labels)) < 2:
        raise ValueError("Expected validation data with at least two classes to fit a "
                         f"temperature. Received: {len(labels)} examples of one class")
    binary = logits.shape[1] == 1
    scale = _best_scale(logits, labels, binary)
    before_p = _probabilities(logits, binary)
    after_p = _probabilities(logits * scale, binary)
    figures = {
        "examples": int(len(labels)),
        "validation_loss": [log_loss(labels, before_p), log_loss(labels, after_p)],
        "validation_ece": [expected_calibration_error(labels, before_p),
                           expected_calibration_error(labels, after_p)],
    }
    reason = _why_not_apply(logits, labels, binary, figures)
    if reason is not None:
        say(f"Calibration: not applied ({reason}); the probabilities are the model's "
            "own.", verbose)
        return {"kind": KIND, "applied": False, "temperature": 1.0, "reason": reason,
                **figures}
    kernel, bias = (np.asarray(v.numpy(), dtype="float64") for v in (last.kernel, last.bias))
    last.kernel.assign((kernel * scale).astype(last.kernel.dtype))
    last.bias.assign((bias * scale).astype(last.bias.dtype))
    earlier = calibration_of(model)
    temperature = (earlier["temperature"] if earlier else 1.0) / scale
    record = {"kind": KIND, "applied": True, "temperature": float(temperature), **figures}
    model.record_adaptation(record)
    loss, ece = record["validation_loss"], record["validation_ece"]
    say(f"Calibration: temperature {1 / scale:.3g} fitted on {len(labels):,} validation "
        f"examples: expected calibration error {ece[0]:.3f} -> {ece[1]:.3f}, loss "
        f"{loss[0]:.3f} -> {loss[1]:.3f} (accuracy unchanged).", verbose)
    return record


def _why_not_apply(logits, labels, binary, figures):
    """Why the fitted temperature would not help, or None when it does."""
    count = len(labels)
    if count < MIN_EXAMPLES:
        return (f"{count} validation examples, fewer than the {MIN_EXAMPLES} a temperature "
                "needs not to fit their noise")
    ece_before, ece_after = figures["validation_ece"]
    if ece_after > ece_before:
        return (f"the fitted temperature raises the validation calibration error, "
                f"{ece_before:.3f} -> {ece_after:.3f}")
    order = np.random.default_rng(0).permutation(count)
    plain = fitted = 0.0
    for fold in range(CHECK_FOLDS):
        held, kept = order[fold::CHECK_FOLDS], np.delete(order, np.s_[fold::CHECK_FOLDS])
        if len(np.unique(labels[kept])) < 2:
            continue
        scale = _best_scale(logits[kept], labels[kept], binary)
        plain += log_loss(labels[held], _probabilities(logits[held], binary)) * len(held)
        fitted += log_loss(labels[held], _probabilities(logits[held] * scale, binary)) \
            * len(held)
    if not fitted < plain:
        return (f"a temperature fitted on 4/5 of the validation examples does not lower "
                f"the loss on the other fifth ({plain / count:.3f} -> {fitted / count:.3f}, "
                f"{CHECK_FOLDS} folds)")
    return None


def calibration_of(model):
    """The model's latest temperature-scaling record, or None."""
    records = [r for r in getattr(model, "adaptations", []) if r.get("kind") == KIND]
    return records[-1] if records else None


def uncalibrated(model, probabilities):
    """What a calibrated model's `probabilities` (`[n, classes]`) were before its
    temperature was folded in: `softmax(T * log p)`."""
    record = calibration_of(model)
    if record is None:
        return probabilities
    logits = np.log(np.clip(probabilities, 1e-300, 1.0)) * record["temperature"]
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def validation_logits(model, data, batch_size=32):
    """`(logits, labels)`: the output layer's pre-activations on `data`, from the
    feature vectors (one pass of the base, through a feature cache that keeps
    nothing) and the head."""
    last = _output_layer(model)
    check_labelled_data(data, "validation_data")
    hidden, labels = frozen_features(model, data, batch_size)
    if labels is None:
        raise ValueError("Expected validation data with labels. Received: inputs only")
    for layer in model.head.layers[:-1]:
        hidden = np.asarray(layer(hidden, training=False))
    kernel, bias = (np.asarray(v.numpy(), dtype="float64") for v in (last.kernel, last.bias))
    return hidden.astype("float64") @ kernel + bias, class_indices(labels)


def _output_layer(model):
    if not isinstance(model, TransferModel):
        raise ValueError("Expected a tl_keras model (from build_model or build_text_model), "
                         "whose output layer calibration rescales. Received: "
                         f"{type(model).__name__}")
    last = model.head.layers[-1]
    if getattr(last, "bias", None) is None:
        raise ValueError(f"Expected an output layer with a bias. Received: {last.name}")
    return last


def _probabilities(logits, binary):
    if binary:
        return two_columns(1.0 / (1.0 + np.exp(-logits[:, 0])))
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def _best_scale(logits, labels, binary, low=1e-2, high=1e2, steps=80):
    """The `1/T` in [low, high] that minimises the NLL of `labels`: a golden-
    section search on log scale (the NLL is convex in `1/T`)."""
    def loss(log_scale):
        return log_loss(labels, _probabilities(logits * math.exp(log_scale), binary))

    a, b = math.log(low), math.log(high)
    ratio = (math.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = loss(c), loss(d)
    for _ in range(steps):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = loss(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = loss(d)
    best = math.exp((a + b) / 2)
    return best if loss(math.log(best)) <= loss(0.0) else 1.0
