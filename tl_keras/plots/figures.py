"""Matplotlib figures made without pyplot, and a grid of image panels."""


def new_figure(**kwargs):
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


def image_grid(images, titles, *, colors=None, framed=None, suptitle=None):
    """A figure of square-ish panels, one image each, titled; `framed` panels get a
    red frame. Images are [0, 255] pixels."""
    import math

    import numpy as np

    count = len(images)
    if count == 0:
        raise ValueError("Expected at least one image to show. Received: no images")
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    figure = new_figure(figsize=(2.6 * columns, 2.8 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes:
        ax.axis("off")
    for index, (ax, image, title) in enumerate(zip(axes, images, titles)):
        ax.axis("on")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.imshow(np.clip(np.asarray(image), 0, 255).astype("uint8"))
        ax.set_title(title, color=colors[index] if colors else "black", fontsize=10)
        for spine in ax.spines.values():
            spine.set_visible(bool(framed is not None and framed[index]))
            spine.set_color("red")
            spine.set_linewidth(4)
    if suptitle:
        figure.suptitle(suptitle)
    return figure
