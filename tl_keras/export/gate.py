"""The release gate: a test accuracy checked before anything is exported."""

import numbers

from tl_keras.errors import GateError


def check_gate(test_report, min_accuracy):
    """Raises `GateError` when the test accuracy misses `min_accuracy`.

    Call it before `export_saved_model`, so that a failing gate writes nothing
    (the CLI's `--assert-accuracy-at-least` does).

    Args:
        test_report: the evaluation of the weights that would ship on a test
            split nothing selected on (`tl_keras.evaluate_classifier`).
        min_accuracy: the threshold, in [0, 1]; `None` checks nothing.

    Returns:
        The test accuracy, or `None` when there is no gate.

    Raises:
        ValueError: a threshold outside [0, 1], or a gate without a test report.
        tl_keras.GateError: the accuracy is below the threshold.

    Example:

    >>> tl_keras.check_gate({"accuracy": 0.93, "examples": 200}, min_accuracy=0.9)
    0.93
    """
    if min_accuracy is None:
        return None
    if isinstance(min_accuracy, bool) or not isinstance(min_accuracy, numbers.Real) \
            or not 0 <= min_accuracy <= 1:
        raise ValueError("Expected `min_accuracy` to be a fraction in [0, 1]. "
                         f"Received: min_accuracy={min_accuracy!r}")
    if test_report is None:
        raise ValueError("min_accuracy is checked on the test set's figures: pass "
                         "test_report=tl_keras.evaluate_classifier(model, test). "
                         f"Received: min_accuracy={min_accuracy}, test_report=None")
    accuracy = test_report["accuracy"]
    if not accuracy >= min_accuracy:
        raise GateError(
            f"The test accuracy {accuracy:.4f} (on {test_report['examples']:,} examples) "
            f"is below the gate's {min_accuracy}: nothing was exported. Received: "
            f"min_accuracy={min_accuracy}")
    return accuracy
