"""Charts: training curves, the confusion matrix, a ranking of bases."""

from tl_keras.plots.figures import new_figure as _new_figure
from tl_keras.plots.grids import predict_examples as _predict_examples


def plot_history(history, *, metric="accuracy", title=None):
    """Plots loss and `metric`, training and validation, across both phases.

    The epoch where fine-tuning began is marked and labelled, and so are the
    epochs whose weights each phase kept (`history.stops`).

    Args:
        history: a `tl_keras.TwoPhaseHistory` or a `keras.callbacks.History`.
        metric: the metric of the second panel. Defaults to `"accuracy"`.
        title: the figure title. Defaults to `None`.

    Returns:
        A matplotlib `Figure` with two panels (loss, metric).

    Example:

    >>> fig = tl_keras.plots.plot_history(history)
    >>> fig.savefig("curves.png")
    """
    values = history.history
    fine_tune_epoch = getattr(history, "fine_tune_epoch", None)
    panels = [key for key in ("loss", metric) if key in values]
    if not panels:
        raise ValueError(f"Expected a history with 'loss' or {metric!r}. "
                         f"Received: history with {sorted(values)}")
    from matplotlib.ticker import MaxNLocator

    figure = _new_figure(figsize=(6 * len(panels), 4.6), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, key in zip(axes, panels):
        epochs = range(1, len(values[key]) + 1)
        ax.plot(epochs, values[key], marker="o", markersize=3, label=f"training {key}")
        if f"val_{key}" in values:
            ax.plot(epochs, values[f"val_{key}"], marker="o", markersize=3,
                    label=f"validation {key}")
        kept = [stop["best_epoch"] for stop in getattr(history, "stops", ()) or ()
                if stop and stop.get("best_epoch") is not None
                and not stop.get("rolled_back")]
        if kept and f"val_{key}" in values:
            ax.plot([e + 1 for e in kept], [values[f"val_{key}"][e] for e in kept], "*",
                    color="black", markersize=11, label="epoch kept (best validation loss)")
        if fine_tune_epoch is not None:
            ax.axvline(fine_tune_epoch + 0.5, color="gray", linestyle="--",
                       label="fine-tuning starts")
            # Just above the plot area, where no curve nor legend goes.
            ax.annotate("fine-tuning", xy=(fine_tune_epoch + 0.5, 1.0),
                        xycoords=("data", "axes fraction"), xytext=(3, 3),
                        textcoords="offset points", color="gray", fontsize=9,
                        annotation_clip=False)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 2.5
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.set_title(key, pad=16)
        ax.grid(alpha=0.3)
    # One legend for both panels, below them: never over a curve or a label.
    handles, labels = axes[0].get_legend_handles_labels()
    labels = [label.split()[0] if label.startswith(("training ", "validation ")) else label
              for label in labels]  # each panel's title names its metric
    figure.legend(handles, labels,
                  loc="outside lower center", ncols=min(len(labels), 4), frameon=False)
    if title:
        figure.suptitle(title)
    return figure


def confusion_matrix(true, predicted, num_classes):
    """Counts `[true class, predicted class]` as an int array."""
    import numpy as np

    matrix = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(matrix, (true, predicted), 1)
    return matrix


def plot_confusion_matrix(model, data, class_names, *, normalize=True, title=None):
    """Plots the confusion matrix of `model` on `data`.

    Args:
        model: a trained classifier.
        data: a batched `tf.data.Dataset` of `(inputs, labels)`, or `(x, y)`.
        class_names: the class names, in output order.
        normalize: show each true class's row as shares (summing to 1) rather
            than counts. Defaults to `True`.
        title: the figure title. Defaults to `None`: the accuracy.

    Returns:
        A matplotlib `Figure` with one panel: true classes down, predicted
        across, each cell annotated.

    Example:

    >>> fig = tl_keras.plots.plot_confusion_matrix(model, val, class_names)
    """
    _, true, probabilities = _predict_examples(model, data)
    predicted = probabilities.argmax(axis=-1)
    counts = confusion_matrix(true, predicted, len(class_names))
    values = counts / counts.sum(axis=1, keepdims=True).clip(min=1) if normalize else counts
    size = max(4, 0.6 * len(class_names) + 2)
    figure = _new_figure(figsize=(size + 1, size), layout="constrained")
    ax = figure.subplots()
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    colorbar = figure.colorbar(image, ax=ax, shrink=0.8)
    colorbar.set_label("share of the true class" if normalize else "examples")
    ticks = range(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    threshold = values.max() / 2 if values.size else 0
    for i in ticks:
        for j in ticks:
            text = f"{values[i, j]:.2f}" if normalize else str(values[i, j])
            ax.text(j, i, text, ha="center", va="center",
                    color="white" if values[i, j] > threshold else "black")
    accuracy = (true == predicted).mean() if len(true) else float("nan")
    ax.set_title(title or f"Confusion matrix ({len(true)} examples, accuracy {accuracy:.3f})")
    return figure


def plot_ranking(records, *, title=None):
    """A horizontal bar per candidate base of `tl_keras.rank_bases`, best on top.

    Args:
        records: what `rank_bases` returned.
        title: the figure's title. Defaults to `None`: the method's name.

    Returns:
        A matplotlib `Figure`.
    """
    if not records:
        raise ValueError("Expected the records of rank_bases. Received: no records")
    names = [record["name"] for record in records][::-1]  # best on top
    scores = [float(record["score"]) for record in records][::-1]
    # Bars start below the worst score, so a longer bar is always a better score,
    # also for LogME's negative evidence; one bar per row, even for equal names.
    span = (max(scores) - min(scores)) or abs(max(scores)) or 1.0
    start = min(scores) - 0.1 * span
    longest = max(len(name) for name in names)
    figure = _new_figure(figsize=(5 + 0.07 * longest, 0.9 + 0.45 * len(records)))
    axis = figure.add_subplot()
    rows = range(len(records))
    axis.barh(rows, [score - start for score in scores], left=start,
              color=["#1f77b4"] * (len(records) - 1) + ["#2ca02c"])
    axis.set_yticks(rows, names)
    for row, score in zip(rows, scores):
        axis.text(score, row, f" {score:.4g}", va="center", fontsize=8)
    axis.set_xlim(start, max(scores) + 0.25 * span)
    axis.set_xlabel(f"{records[0]['method']} (higher is better)")
    axis.set_title(title or f"Transferability ({records[0]['method']}), best on top")
    figure.tight_layout()
    return figure
