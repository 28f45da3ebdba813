"""The training examples most likely mislabelled, as an image grid."""

from tl_keras.plots.figures import image_grid


def show_label_issues(issues, class_names, *, images=None, n=9, image_size=160):
    """Shows the `n` examples `tl_keras.find_label_issues` ranks most likely
    mislabelled, each titled with its given label and the one the held-out
    heads believe.

    Args:
        issues: what `tl_keras.find_label_issues` returned.
        class_names: the class names, in output order.
        images: the images, `[n, height, width, 3]` in [0, 255], when the
            issues came from arrays; a folder's files are read. Defaults to
            `None`.
        n: how many images. Defaults to `9`.
        image_size: the side files are shown at. Defaults to `160`.

    Returns:
        A matplotlib `Figure` with a grid of up to `n` framed panels.

    Raises:
        ValueError: no issues were flagged, or neither files nor `images`.

    Example:

    >>> issues = tl_keras.find_label_issues(model, "flower_photos", verbose=0,
    ...                                     epochs=1, folds=3)
    >>> if len(issues.indices):  # none flagged: nothing to show
    ...     fig = tl_keras.plots.show_label_issues(issues, class_names)
    """
    import numpy as np
    import tensorflow as tf

    from tl_keras.data.image_files import decode_rgb
    from tl_keras.data.image_files import resize_image

    chosen = list(range(min(n, len(issues.indices))))
    if not chosen:
        raise ValueError("No example was flagged as mislabelled: nothing to show. "
                         "Received: issues with 0 indices")
    if issues.files is not None:
        size = (image_size, image_size)
        shown = [resize_image(decode_rgb(tf.io.read_file(issues.files[i]), size), size,
                              "pad").numpy() for i in chosen]
    elif images is not None:
        shown = [np.asarray(images)[issues.indices[i]] for i in chosen]
    else:
        raise ValueError("Expected `images` for issues found on arrays or a dataset (a "
                         "folder's issues name their files). Received: images=None")
    titles = [f"given: {class_names[issues.given[i]]}\nlikely: "
              f"{class_names[issues.suggested[i]]} "
              f"(p={1 - issues.self_confidence[i]:.2f})" for i in chosen]
    return image_grid(shown, titles, colors=["red"] * len(chosen),
                      framed=[True] * len(chosen),
                      suptitle=f"Likely mislabelled: {len(issues.indices)} flagged, "
                               f"the {len(chosen)} most likely shown")
