"""Image datasets: folders of images, one subfolder per class, or arrays."""

import os

import keras
import numpy as np
import tensorflow as tf

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp")


def image_dataset(source, *, image_size, batch_size=32, validation_split=0.2, seed=0):
    """Returns `(train, validation, class_names)` batched pipelines of raw pixels.

    Images are float32 RGB pixels in [0, 255], resized to `image_size`, with
    integer labels; grayscale and RGBA images become RGB.

    Args:
        source: a directory with one subfolder per class (JPEG, PNG, GIF or
            BMP files; class names are the subfolder names, sorted), or a
            tuple `(x, y)` of arrays (`y` integer class indices).
        image_size: `(height, width)` or an integer for square images.
        batch_size: images per batch. Defaults to `32`.
        validation_split: share of the images held out for validation, in
            [0, 1). Defaults to `0.2`.
        seed: seed of the shuffle and split. Defaults to `0`.

    Returns:
        A tuple `(train, validation, class_names)`: two `tf.data.Dataset`s
        (validation is `None` when `validation_split=0`) and the class names.

    Raises:
        ValueError: a missing directory, fewer than two classes, an empty
            class folder, or a bad `validation_split`.

    Example:

    >>> train, val, class_names = tl_keras.image_dataset(
    ...     "flower_photos", image_size=(224, 224))
    """
    image_size = _check_image_size(image_size)
    if not isinstance(validation_split, (int, float)) or not 0 <= validation_split < 1:
        raise ValueError("Expected `validation_split` in [0, 1). "
                         f"Received: validation_split={validation_split!r}")
    if isinstance(source, (tuple, list)):
        return _from_arrays(source, image_size, batch_size, validation_split, seed)
    if isinstance(source, str) and source.startswith("tfds:"):
        raise ValueError(
            "TFDS sources are not supported by this version of tl_keras; pass a "
            f"directory of class folders or (x, y) arrays. Received: source={source!r}"
        )
    return _from_directory(os.fspath(source), image_size, batch_size,
                           validation_split, seed)


def class_folders(directory):
    """Returns the sorted class names of a directory of class folders, checked."""
    if not os.path.isdir(directory):
        raise ValueError(
            "Expected a directory with one subfolder of images per class. "
            f"Received: source={directory!r} (not a directory)"
        )
    names = sorted(
        entry for entry in os.listdir(directory)
        if os.path.isdir(os.path.join(directory, entry)) and not entry.startswith(".")
    )
    if len(names) < 2:
        raise ValueError(
            "Expected at least two class subfolders of images (a classifier needs two "
            f"classes). Received: source={directory!r} with class folders {names}"
        )
    for name in names:
        folder = os.path.join(directory, name)
        if not any(f.lower().endswith(IMAGE_EXTENSIONS) for f in os.listdir(folder)):
            raise ValueError(
                f"Class folder {name!r} holds no images ({', '.join(IMAGE_EXTENSIONS)}). "
                f"Add images or remove the folder. Received: source={directory!r}"
            )
    return names


def _from_directory(directory, image_size, batch_size, validation_split, seed):
    names = class_folders(directory)
    count = sum(
        f.lower().endswith(IMAGE_EXTENSIONS)
        for name in names for f in os.listdir(os.path.join(directory, name))
    )
    if validation_split and int(count * validation_split) < 1:
        raise ValueError(
            f"validation_split={validation_split} of {count} images leaves no validation "
            "image. Add images, or pass validation_split=0 to train without validation. "
            f"Received: source={directory!r}"
        )
    common = dict(
        labels="inferred", label_mode="int", class_names=names, color_mode="rgb",
        image_size=image_size, batch_size=batch_size, seed=seed, verbose=False,
    )
    if validation_split:
        train, val = keras.utils.image_dataset_from_directory(
            directory, validation_split=validation_split, subset="both", **common
        )
    else:
        train, val = keras.utils.image_dataset_from_directory(directory, **common), None
    prefetch = lambda ds: ds.prefetch(tf.data.AUTOTUNE) if ds is not None else None  # noqa: E731
    return prefetch(train), prefetch(val), names


def _from_arrays(source, image_size, batch_size, validation_split, seed):
    if len(source) != 2:
        raise ValueError(f"Expected a tuple (x, y) of arrays. Received: {len(source)} items")
    x = np.asarray(source[0], dtype="float32")
    y = np.asarray(source[1])
    if x.ndim != 4 or len(x) != len(y):
        raise ValueError(
            "Expected x of shape (n, height, width, 3) and y of shape (n,). "
            f"Received: x.shape={x.shape}, y.shape={y.shape}"
        )
    if tuple(x.shape[1:3]) != image_size:
        x = tf.image.resize(x, image_size).numpy()
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = int(round(len(x) * validation_split))
    val_idx, train_idx = order[:n_val], order[n_val:]
    num_classes = int(y.max()) + 1
    names = [str(i) for i in range(num_classes)]

    def make(indices, shuffle):
        ds = tf.data.Dataset.from_tensor_slices((x[indices], y[indices]))
        if shuffle:
            ds = ds.shuffle(len(indices), seed=seed)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    return make(train_idx, True), (make(val_idx, False) if n_val else None), names


def _check_image_size(image_size):
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    try:
        height, width = image_size
    except (TypeError, ValueError):
        height = width = None
    if not all(isinstance(d, int) and d > 0 for d in (height, width)):
        raise ValueError("Expected `image_size` to be (height, width) or an integer. "
                         f"Received: image_size={image_size!r}")
    return (height, width)


def load_images(paths, image_size):
    """Decodes image files to a float32 [n, height, width, 3] batch of [0, 255] pixels."""
    images = []
    for path in paths:
        data = tf.io.read_file(os.fspath(path))
        image = tf.io.decode_image(data, channels=3, expand_animations=False)
        images.append(tf.image.resize(tf.cast(image, tf.float32), image_size))
    return tf.stack(images).numpy()
