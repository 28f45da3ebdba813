"""The reliability diagram: how far a classifier's confidence is from its accuracy."""

from tl_keras.plots.figures import new_figure as _new_figure


def plot_reliability(model, data, *, bins=15, title=None):
    """Plots the reliability diagram of `model` on `data` (best a test split).

    For each confidence bin, the accuracy of the predictions whose top
    probability falls in it, against the diagonal a calibrated model follows;
    the bars' shade shows how many predictions each bin holds. For a model
    calibrated with `tl_keras.calibrate`, the curve before calibration is drawn
    too. The title gives the expected calibration error.

    Args:
        model: a trained classifier (softmax, or one sigmoid unit).
        data: a batched `tf.data.Dataset` of `(inputs, labels)`, or `(x, y)`.
        bins: equal-width confidence bins. Defaults to `15`.
        title: the figure title. Defaults to `None`: the error(s).

    Returns:
        A matplotlib `Figure` with one panel.

    Example:

    >>> fig = tl_keras.plots.plot_reliability(model, test)
    >>> fig.savefig("reliability.png")
    """
    import numpy as np

    from tl_keras.evaluation.calibration import calibration_of
    from tl_keras.evaluation.calibration import uncalibrated
    from tl_keras.evaluation.scores import expected_calibration_error
    from tl_keras.evaluation.scores import labels_and_probabilities
    from tl_keras.evaluation.scores import reliability_bins

    labels, probabilities = labels_and_probabilities(model, data)
    figure = _new_figure(figsize=(5.5, 5), layout="constrained")
    ax = figure.subplots()
    ax.plot([0, 1], [0, 1], color="gray", linestyle="--", linewidth=1, label="calibrated")
    edges = np.linspace(0, 1, bins + 1)
    confidence, accuracy, counts = reliability_bins(labels, probabilities, bins)
    shade = counts / max(counts.max(), 1)
    ax.bar(edges[:-1], np.nan_to_num(accuracy), width=1 / bins, align="edge",
           color=[(0.2, 0.4, 0.8, 0.25 + 0.75 * s) for s in shade], edgecolor="white",
           label="accuracy in the bin")
    error = expected_calibration_error(labels, probabilities, bins)
    parts = [f"ECE {error:.3f}"]
    if calibration_of(model) is not None:
        before = uncalibrated(model, probabilities)
        old_confidence, old_accuracy, _ = reliability_bins(labels, before, bins)
        ax.plot(old_confidence, old_accuracy, marker="o", color="tab:red", linewidth=1,
                label="before calibration")
        parts.append(f"{expected_calibration_error(labels, before, bins):.3f} before "
                     "calibration")
    ax.plot(confidence, accuracy, marker="o", color="tab:blue", linewidth=1,
            label="model")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (top probability)")
    ax.set_ylabel("accuracy")
    ax.legend(loc="upper left", fontsize="small")
    ax.set_title(title or f"Reliability ({len(labels)} examples)\n{', '.join(parts)}")
    return figure
