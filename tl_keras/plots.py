"""Plots of training (matplotlib is imported only when a plot is made).

Each function returns a matplotlib `Figure` made without pyplot (no global
state, works headless); in Jupyter and Colab it shows as an image.
"""


def _new_figure(**kwargs):
    """A Figure that Jupyter and Colab display as a PNG, pyplot or not."""
    from matplotlib.figure import Figure

    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:
        return Figure(**kwargs)
    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["image/png"].for_type(
            Figure, lambda figure: print_figure(figure, "png"))
    return Figure(**kwargs)


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

    figure = _new_figure(figsize=(6 * len(panels), 4), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, key in zip(axes, panels):
        epochs = range(1, len(values[key]) + 1)
        ax.plot(epochs, values[key], marker="o", markersize=3, label=f"training {key}")
        if f"val_{key}" in values:
            ax.plot(epochs, values[f"val_{key}"], marker="o", markersize=3,
                    label=f"validation {key}")
        kept = [stop["best_epoch"] for stop in getattr(history, "stops", ()) or ()
                if stop and stop.get("best_epoch") is not None]
        if kept and f"val_{key}" in values:
            ax.plot([e + 1 for e in kept], [values[f"val_{key}"][e] for e in kept], "*",
                    color="black", markersize=11, label="epoch kept (best validation loss)")
        if fine_tune_epoch is not None:
            ax.axvline(fine_tune_epoch + 0.5, color="gray", linestyle="--",
                       label="fine-tuning starts")
            ax.annotate("fine-tuning", xy=(fine_tune_epoch + 0.5, 1.0),
                        xycoords=("data", "axes fraction"), xytext=(4, -12),
                        textcoords="offset points", color="gray")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 2.5
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        figure.suptitle(title)
    return figure


def _predict(model, data):
    """Returns (images or None, true labels, predicted labels) for `data`."""
    import numpy as np
    import tensorflow as tf

    images, labels, predicted = [], [], []
    batches = data if isinstance(data, tf.data.Dataset) else \
        tf.data.Dataset.from_tensor_slices((data[0], data[1])).batch(64)
    for x, y in batches:
        probabilities = np.asarray(model(x, training=False))
        if probabilities.shape[-1] == 1:
            predicted.append((probabilities[:, 0] > 0.5).astype(int))
        else:
            predicted.append(probabilities.argmax(axis=-1))
        y = np.asarray(y)
        labels.append(y.argmax(axis=-1) if y.ndim == 2 and y.shape[-1] > 1 else y.reshape(-1))
        images.append(np.asarray(x))
    return np.concatenate(images), np.concatenate(labels).astype(int), \
        np.concatenate(predicted).astype(int)


def _across_classes(indices, labels, count):
    """Up to `count` of `indices`, taking one of each class in turn."""
    by_class = {}
    for index in indices:
        by_class.setdefault(int(labels[index]), []).append(int(index))
    queues = [by_class[label] for label in sorted(by_class)]
    chosen = []
    while len(chosen) < count and any(queues):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(queue.pop(0))
    return chosen


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

    >>> tl_keras.plots.plot_confusion_matrix(model, val, class_names)
    """
    _, true, predicted = _predict(model, data)
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


def show_predictions(model, data, class_names, *, n=9, mistakes_first=False, pool=256):
    """Shows `n` images with their predicted and true labels; mistakes in red.

    The images are drawn across the true classes in turn (a validation set
    ordered by class still shows every class), from the first `pool` examples.

    Args:
        model: a trained image classifier (raw [0, 255] pixels in).
        data: a batched `tf.data.Dataset` of `(images, labels)`, or `(x, y)`.
        class_names: the class names, in output order.
        n: how many images. Defaults to `9`.
        mistakes_first: show the mistakes first (across classes), then right
            predictions. Defaults to `False`.
        pool: how many examples to choose from. Defaults to `256`.

    Returns:
        A matplotlib `Figure` with a grid of `n` panels, each titled
        "predicted (true: label)".
    """
    import math

    import numpy as np
    import tensorflow as tf

    pool = max(pool, n)
    if isinstance(data, tf.data.Dataset):
        data = data.unbatch().take(pool).batch(64)
    else:
        data = (np.asarray(data[0])[:pool], np.asarray(data[1])[:pool])
    images, true, predicted = _predict(model, data)
    groups = [true != predicted, true == predicted] if mistakes_first \
        else [np.ones(len(true), bool)]
    chosen = []
    for group in groups:
        chosen += _across_classes(np.flatnonzero(group), true, n - len(chosen))
    images, true, predicted = images[chosen], true[chosen], predicted[chosen]
    columns = math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    figure = _new_figure(figsize=(2.6 * columns, 2.8 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, image, t, p in zip(axes, images, true, predicted):
        ax.axis("on")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.imshow(np.clip(image, 0, 255).astype("uint8"))
        wrong = t != p
        ax.set_title(f"{class_names[p]}" + (f"\n(true: {class_names[t]})" if wrong else ""),
                     color="red" if wrong else "green", fontsize=10)
        for spine in ax.spines.values():  # a red frame around each mistake
            spine.set_visible(bool(wrong))
            spine.set_color("red")
            spine.set_linewidth(4)
    mistakes = int((true != predicted).sum())
    figure.suptitle(f"Predictions: {len(images) - mistakes} right, {mistakes} wrong (red)")
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
    figure = _new_figure(figsize=(6, 0.5 + 0.4 * len(records)))
    axis = figure.add_subplot()
    names = [record["name"] for record in records][::-1]
    scores = [record["score"] for record in records][::-1]
    axis.barh(names, scores, color=["#1f77b4"] * (len(records) - 1) + ["#2ca02c"])
    axis.set_xlabel(records[0]["method"])
    axis.set_title(title or f"Transferability ({records[0]['method']}), best on top")
    figure.tight_layout()
    return figure
