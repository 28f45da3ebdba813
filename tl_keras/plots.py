"""Plots of training (matplotlib is imported only when a plot is made)."""


def plot_history(history, *, metric="accuracy", title=None):
    """Plots loss and `metric`, training and validation, across both phases.

    The epoch where fine-tuning began is marked and labelled.

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
    from matplotlib.figure import Figure  # no pyplot: works headless, no GUI state

    values = history.history
    fine_tune_epoch = getattr(history, "fine_tune_epoch", None)
    panels = [key for key in ("loss", metric) if key in values]
    if not panels:
        raise ValueError(f"Expected a history with 'loss' or {metric!r}. "
                         f"Received: history with {sorted(values)}")
    figure = Figure(figsize=(6 * len(panels), 4), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, key in zip(axes, panels):
        epochs = range(1, len(values[key]) + 1)
        ax.plot(epochs, values[key], marker="o", markersize=3, label=f"training {key}")
        if f"val_{key}" in values:
            ax.plot(epochs, values[f"val_{key}"], marker="o", markersize=3,
                    label=f"validation {key}")
        if fine_tune_epoch is not None:
            ax.axvline(fine_tune_epoch + 0.5, color="gray", linestyle="--",
                       label="fine-tuning starts")
            ax.annotate("fine-tuning", xy=(fine_tune_epoch + 0.5, 1.0),
                        xycoords=("data", "axes fraction"), xytext=(4, -12),
                        textcoords="offset points", color="gray")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        figure.suptitle(title)
    return figure
