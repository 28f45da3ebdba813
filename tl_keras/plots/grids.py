"""Image grids: a batch of the data, its augmentation, predictions, top losses.

Each function returns a matplotlib `Figure` (see `tl_keras.plots`); images are raw
[0, 255] pixels, as `tl_keras.image_dataset` yields them.
"""

from tl_keras.plots.figures import image_grid


def predict_examples(model, data):
    """Returns `(images, true labels, probabilities)` of `model` on `data`.

    Binary models (one sigmoid output) get two columns, `[1 - p, p]`.
    """
    import numpy as np
    import tensorflow as tf

    from tl_keras.evaluation.scores import two_columns

    images, labels, probabilities = [], [], []
    batches = data if isinstance(data, tf.data.Dataset) else \
        tf.data.Dataset.from_tensor_slices((data[0], data[1])).batch(64)
    for x, y in batches:
        probabilities.append(two_columns(model(x, training=False)))
        labels.append(_labels(y))
        images.append(np.asarray(x))
    return np.concatenate(images), np.concatenate(labels), np.concatenate(probabilities)


def _take(data, count):
    """The first `count` examples of a dataset (re-batched) or of `(x, y)` arrays."""
    import numpy as np
    import tensorflow as tf

    if isinstance(data, tf.data.Dataset):
        return data.unbatch().take(count).batch(64)
    return np.asarray(data[0])[:count], np.asarray(data[1])[:count]


def _labels(y):
    """Integer labels from integer, one-hot or `[n, 1]` labels."""
    from tl_keras.evaluation.scores import class_indices

    return class_indices(y)


def across_classes(indices, labels, count):
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


def show_batch(data, class_names, *, n=9):
    """Shows `n` images of `data` with their labels, drawn across the classes.

    Look at the data before training on it: wrong labels, odd crops and classes
    that differ only in the background show up here first.

    Args:
        data: a batched `tf.data.Dataset` of `(images, labels)`, or `(x, y)`.
        class_names: the class names, in label order.
        n: how many images. Defaults to `9`.

    Returns:
        A matplotlib `Figure` with a grid of `n` panels, each titled by its class.

    Example:

    >>> fig = tl_keras.plots.show_batch(train, class_names)
    >>> fig.savefig("batch.png")
    """
    import numpy as np
    import tensorflow as tf

    taken = _take(data, max(256, n))
    batches = taken if isinstance(taken, tf.data.Dataset) else [taken]
    pairs = [(np.asarray(x), _labels(y)) for x, y in batches]
    images = np.concatenate([x for x, _ in pairs])
    labels = np.concatenate([y for _, y in pairs])
    chosen = across_classes(range(len(labels)), labels, n)
    return image_grid(images[chosen], [class_names[labels[i]] for i in chosen],
                      suptitle=f"{len(chosen)} training images, one class after another")


def show_augmentation(augmentation, image, *, n=9):
    """Shows `image` as the model's augmentation changes it, `n` times.

    Args:
        augmentation: a model built with `augmentation=...` (its `augmentation`
            layer is used), a Keras layer, or `"default"` (flip, rotation, zoom).
        image: one image `[height, width, 3]` of [0, 255] pixels.
        n: how many panels, the first one the image itself. Defaults to `9`.

    Returns:
        A matplotlib `Figure` with a grid of `n` panels.

    Raises:
        ValueError: if the model has no augmentation.

    Example:

    >>> images, _ = next(iter(train))
    >>> fig = tl_keras.plots.show_augmentation("default", images[0])
    """
    import keras
    import numpy as np

    from tl_keras.models.heads import augmentation_layer

    if isinstance(augmentation, keras.Model) and hasattr(augmentation, "augmentation"):
        layer = augmentation.augmentation
        if layer is None:
            raise ValueError("Expected a model built with `augmentation=` (e.g. 'default'), "
                             "or an augmentation layer. Received: a model without one")
    else:
        layer = augmentation_layer(augmentation)
    image = np.asarray(image, dtype="float32")
    if image.ndim != 3:
        raise ValueError(f"Expected one image [height, width, channels]. "
                         f"Received: image of shape {image.shape}")
    batch = np.repeat(image[None], max(n - 1, 1), axis=0)
    changed = np.asarray(layer(batch, training=True))
    panels = [image] + list(changed[: n - 1])
    titles = ["original"] + [f"augmented {i}" for i in range(1, len(panels))]
    return image_grid(panels, titles, suptitle="What the model sees in training: "
                      "a new variant of each image every epoch")


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
    import numpy as np

    images, true, probabilities = predict_examples(model, _take(data, max(pool, n)))
    predicted = probabilities.argmax(axis=-1)
    groups = [true != predicted, true == predicted] if mistakes_first \
        else [np.ones(len(true), bool)]
    chosen = []
    for group in groups:
        chosen += across_classes(np.flatnonzero(group), true, n - len(chosen))
    wrong = [bool(true[i] != predicted[i]) for i in chosen]
    titles = [class_names[predicted[i]] + (f"\n(true: {class_names[true[i]]})" if w else "")
              for i, w in zip(chosen, wrong)]
    return image_grid(images[chosen], titles, colors=["red" if w else "green" for w in wrong],
                      framed=wrong, suptitle=f"Predictions: {len(chosen) - sum(wrong)} right, "
                      f"{sum(wrong)} wrong (red)")


def show_top_losses(model, data, class_names, *, n=9):
    """Shows the `n` examples of `data` the model gets most wrong: its top losses.

    The loss of an example is `-log p(true class)`: a confident mistake ranks
    first. Look for mislabelled images, classes that are hard to tell apart, and
    what the data lacks.

    Args:
        model: a trained image classifier (raw [0, 255] pixels in).
        data: a batched `tf.data.Dataset` of `(images, labels)`, or `(x, y)`:
            every example is scored.
        class_names: the class names, in output order.
        n: how many images. Defaults to `9`.

    Returns:
        A matplotlib `Figure` with a grid of `n` panels, each titled
        "predicted / true / loss / probability of the true class".

    Example:

    >>> fig = tl_keras.plots.show_top_losses(model, val, class_names)
    """
    import numpy as np

    images, true, probabilities = predict_examples(model, data)
    p_true = probabilities[np.arange(len(true)), true]
    losses = np.maximum(-np.log(np.clip(p_true, 1e-12, 1.0)), 0.0)  # no "-0.00"
    chosen = np.argsort(-losses, kind="stable")[:n]
    predicted = probabilities.argmax(axis=-1)
    wrong = [bool(predicted[i] != true[i]) for i in chosen]
    titles = [f"{class_names[predicted[i]]} / {class_names[true[i]]}\n"
              f"loss {losses[i]:.2f} / p {p_true[i]:.2f}" for i in chosen]
    return image_grid(images[chosen], titles, colors=["red" if w else "black" for w in wrong],
                      framed=wrong, suptitle="Top losses: predicted / true, loss / "
                      "probability of the true class")
