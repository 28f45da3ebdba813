"""A contact sheet of clusters: the items nearest each cluster's centre."""

from tl_keras.plots.figures import new_figure


def show_clusters(report, *, images=None, per_cluster=8, max_clusters=12, image_size=96):
    """Draws one row per cluster of `tl_keras.cluster`: the items nearest its
    centre, the first titled with the cluster's number and size.

    Args:
        report: what `tl_keras.cluster` returned.
        images: the images `[n, height, width, 3]` in [0, 255] when the
            clustered items were arrays (ids are row numbers); files are read.
            Defaults to `None`.
        per_cluster: images a row (at most the report's examples). Defaults
            to `8`.
        max_clusters: rows; the largest clusters first. Defaults to `12`.
        image_size: the side files are shown at. Defaults to `96`.

    Returns:
        A matplotlib `Figure`.

    Example:

    >>> emb = tl_keras.embed(model, "flower_photos", verbose=0)
    >>> fig = tl_keras.plots.show_clusters(tl_keras.cluster(emb, k=3, verbose=0))
    >>> len(fig.axes) >= 3
    True
    """
    rows = report.examples[:max_clusters]
    columns = max(1, min(per_cluster, max(len(r) for r in rows)))
    figure = new_figure(figsize=(1.6 * columns, 1.8 * len(rows)), layout="constrained")
    axes = figure.subplots(len(rows), columns, squeeze=False)
    for row, examples in enumerate(rows):
        for column in range(columns):
            ax = axes[row][column]
            ax.set_xticks([])
            ax.set_yticks([])
            if column >= len(examples):
                ax.axis("off")
                continue
            ax.imshow(_pixels(examples[column], images, image_size))
            if column == 0:
                ax.set_ylabel(f"cluster {row}\n({report.sizes[row]})", fontsize=9)
    figure.suptitle(f"{report.k} clusters: the items nearest each centre")
    return figure


def _pixels(item, images, image_size):
    import numpy as np
    import tensorflow as tf

    from tl_keras.data.image_files import decode_rgb
    from tl_keras.data.image_files import resize_image

    if isinstance(item, str):
        size = (image_size, image_size)
        image = resize_image(decode_rgb(tf.io.read_file(item), size), size, "pad").numpy()
    elif images is not None:
        image = np.asarray(images)[item]
    else:
        raise ValueError("Expected `images` for clusters of arrays (their ids are row "
                         f"numbers). Received: images=None and an id {item!r}")
    return np.clip(image, 0, 255).astype("uint8")
