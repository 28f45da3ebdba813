"""Image datasets: folders of class subfolders, TFDS names, or arrays.

Every pipeline yields batches of `(images, labels)`: float32 RGB pixels in
[0, 255] at `image_size`, and integer labels.
"""

import hashlib
import os

import numpy as np
import tensorflow as tf

from tl_keras.data import fingerprints
from tl_keras.data.image_files import DEFAULT_RESIZE
from tl_keras.data.image_files import check_resize
from tl_keras.data.image_files import decode_rgb
from tl_keras.data.image_files import resize_image
from tl_keras.data.image_folder import hash_sides
from tl_keras.data.image_folder import scan_image_folder
from tl_keras.data.image_folder import skipped_report
from tl_keras.data.lost_files import ScannedFiles
from tl_keras.data.lost_files import count_read_files
from tl_keras.data.pipeline import cache_for
from tl_keras.data.pipeline import finish
from tl_keras.data.splits import SIDES
from tl_keras.data.splits import check_splits
from tl_keras.data.splits import empty_side_error
from tl_keras.data.splits import found_line
from tl_keras.data.splits import split_by_order
from tl_keras.data.tfds import load_tfds
from tl_keras.data.tfrecords import image_sides_from_tfrecords
from tl_keras.data.tfrecords import is_tfrecord_source
from tl_keras.log import say

AUTOTUNE = tf.data.AUTOTUNE



def image_dataset(source, *, image_size, batch_size=32, validation_split=0.2, seed=0,
                  test_split=0.0, split=None, resize=DEFAULT_RESIZE, cache=False,
                  shuffle=True, data_dir=None, verbose="auto"):
    """Returns `(train, validation, class_names)`: batched pipelines of raw pixels;
    with `test_split`, `(train, validation, test, class_names)`.

    Images are float32 RGB pixels in [0, 255] at `image_size` (grayscale and
    RGBA become RGB), labels are integer class indices. Decoding runs in
    parallel and batches are prefetched.

    Folders: the split is stable, decided by a hash of each file's path within
    its class folder, so a file stays on its side of the split when files are
    added and validation never leaks into training. A test split is cut the
    same way, from the other end of the hash (`tl_keras.data.splits`): the
    validation side does not change when one is asked for, and nothing in
    training reads it. Files that are not
    decodable images (a text file named `.jpg`, a truncated JPEG) are skipped,
    counted and reported once, with their names and plain reasons, before
    training starts; they never crash an epoch. Files of other formats (TIFF,
    a README) are reported the same way, never silently ignored.

    Args:
        source: a directory with one subfolder of images per class (JPEG, PNG,
            GIF, BMP, WebP), on any filesystem `tf.io.gfile` knows (`gs://`...);
            TFRecord shards of `tf.Example`s, a path or glob whose file name
            holds `tfrecord` (`"gs://bucket/train-*.tfrecord"`; see
            `tl_keras.data.tfrecords`, and `tl-keras to-tfrecord` to write
            them); `"tfds:NAME"` for a TensorFlow Datasets image dataset
            (downloaded by tensorflow-datasets where there is network); or a
            tuple `(x, y)` of arrays (images `[n, h, w, 3]`, integer labels).
        image_size: `(height, width)`, or an integer for square images.
        batch_size: images per batch. Defaults to `32`.
        validation_split: share held out for validation, in [0, 1); a line
            says how many images each side has. Pass `0` to read a folder
            whole (a test set). Defaults to `0.2`.
        seed: seed of the split and the shuffle. Defaults to `0`.
        test_split: share held out as a test set, in [0, 1), for the final,
            unselected evaluation (`tl_keras.evaluate_classifier`); the test
            pipeline is neither shuffled nor augmented. Defaults to `0`: none.
        split: TFDS only: the split(s) to load, a name, `[train, validation]`
            or `[train, validation, test]` (e.g. `["train[:80%]",
            "train[80%:]"]`). Defaults to `None`: the `train` split, divided
            by `validation_split` and `test_split`.
        resize: `"crop"` (to the aspect ratio, then resize), `"stretch"` or
            `"pad"`. Defaults to `"crop"`.
        cache: `False`, `True` (decoded images kept in memory after the first
            epoch) or a file path prefix for an on-disk cache. Only decoded
            images are cached: augmentation lives in the model and is never
            baked in. Defaults to `False`.
        shuffle: shuffle the training pipeline every epoch. Defaults to `True`.
        data_dir: TFDS only: where prepared datasets are (offline, pass the
            directory you copied them to). Defaults to `None`: TFDS's own.
        verbose: print the report of skipped files (`0` silences it; the same
            list as data: `tl_keras.data.image_folder.scan_image_folder(source)
            .skipped`). Defaults to `"auto"`.

    Returns:
        A tuple `(train, validation, class_names)`; `validation` is `None` when
        `validation_split=0` (and no validation split is named). With
        `test_split` (or three TFDS splits), `(train, validation, test,
        class_names)`.

    Raises:
        ValueError: a missing directory, fewer than two classes, an empty class
            folder, a split that leaves validation empty, or bad arguments.
        tl_keras.DownloadError: a TFDS dataset could not be downloaded.

    Example:

    >>> train, val, class_names = tl_keras.image_dataset(
    ...     "flower_photos", image_size=(224, 224))
    Found ... images in 3 classes in flower_photos: ... for training, ... held out for
    validation (validation_split=0.2; 0 reads the folder whole).
    """
    image_size = _check_image_size(image_size)
    check_resize(resize)
    check_splits(validation_split, test_split)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"Expected `batch_size` >= 1. Received: batch_size={batch_size!r}")
    options = dict(image_size=image_size, batch_size=batch_size, seed=seed, resize=resize,
                   cache=cache, shuffle=shuffle, validation_split=validation_split,
                   test_split=test_split)
    if isinstance(source, (tuple, list)):
        sides, class_names = _from_arrays(source, **options)
    elif isinstance(source, str) and source.startswith("tfds:"):
        sides, class_names = _from_tfds(source[len("tfds:"):], split=split,
                                        data_dir=data_dir, **options)
    elif is_tfrecord_source(source):
        sides, class_names = image_sides_from_tfrecords(source, verbose=verbose, **options)
    else:
        sides, class_names = _from_directory(os.fspath(source), verbose=verbose, **options)
    return with_sides(sides, class_names)


def with_sides(sides, class_names):
    """`(train, validation, class_names)`, or with a test side `(train, validation,
    test, class_names)`, from `{side: dataset}`; each side remembers its classes."""
    for dataset in sides.values():
        fingerprints.remember_class_names(dataset, class_names)
    if "test" in sides:
        return sides["train"], sides.get("validation"), sides["test"], class_names
    return sides["train"], sides.get("validation"), class_names


# === Folders ===

def _from_directory(directory, *, image_size, batch_size, validation_split, test_split,
                    seed, resize, cache, shuffle, verbose):
    folder = scan_image_folder(directory)
    if folder.skipped:
        say(skipped_report(directory, folder.skipped,
                           len(folder.paths) + len(folder.skipped)), verbose)
    indices = hash_sides(directory, folder.paths, validation_split, test_split, seed)
    say(found_line(len(folder.paths), "images", len(folder.class_names), directory, indices,
                   validation_split, test_split), verbose)  # said, never silent
    for side, share in (("validation", validation_split), ("test", test_split)):
        if share and not indices[side]:
            raise empty_side_error(side, share, len(folder.paths), "images", repr(directory))
    paths = np.asarray(folder.paths)
    labels = np.asarray(folder.labels, dtype="int32")

    def make(side):
        chosen = indices[side]
        ds = tf.data.Dataset.from_tensor_slices((paths[chosen], labels[chosen]))

        def load(path, label):
            return resize_image(decode_rgb(tf.io.read_file(path), image_size), image_size,
                                resize), label

        scanned = ScannedFiles(paths[chosen], directory, verbose)

        def after_read(dataset):
            return count_read_files(dataset, scanned, side, image_size)

        shuffled = shuffle and side == "train"
        dataset = finish(ds, load, len(chosen), batch_size=batch_size, seed=seed,
                          shuffle=shuffled, cache=cache_for(cache, side),
                          after_read=after_read)
        files = [(path, *stat) for path, stat in scanned.stats.items()]
        # The order is part of what the features are: a shuffled pass's features
        # never answer for an unshuffled pipeline (find_label_issues maps by order).
        return fingerprints.register(dataset, "folder", files, image_size, resize, side,
                                     shuffled, labels=labels[chosen])

    return {side: make(side) for side in SIDES if indices[side] or side == "train"}, \
        folder.class_names


# === TFDS ===

def _from_tfds(name, *, split, data_dir, image_size, batch_size, validation_split,
               test_split, seed, resize, cache, shuffle):
    datasets, splits, class_names = load_tfds(name, split=split, data_dir=data_dir,
                                              validation_split=validation_split,
                                              test_split=test_split)

    def load(image, label_value):
        if image.shape.rank == 3 and image.shape[-1] == 1:
            image = tf.image.grayscale_to_rgb(image)
        return resize_image(image, image_size, resize), tf.cast(label_value, tf.int32)

    def make(side):
        ds = datasets[side]
        count = int(ds.cardinality()) if int(ds.cardinality()) > 0 else 10_000
        shuffled = shuffle and side == "train"
        dataset = finish(ds, load, count, batch_size=batch_size, seed=seed,
                          shuffle=shuffled, cache=cache_for(cache, side))
        return fingerprints.register(dataset, "tfds", name, splits[side], data_dir,
                                     image_size, resize, shuffled)

    return {side: make(side) for side in datasets}, class_names


# === Arrays ===

def _from_arrays(source, *, image_size, batch_size, validation_split, test_split, seed,
                 resize, cache, shuffle):
    if len(source) != 2:
        raise ValueError(f"Expected a tuple (x, y) of arrays. Received: {len(source)} items")
    x = np.asarray(source[0])
    y = np.asarray(source[1])
    if x.ndim != 4 or x.shape[-1] != 3 or len(x) != len(y):
        raise ValueError(
            "Expected x of shape (n, height, width, 3) and y of shape (n,). "
            f"Received: x.shape={x.shape}, y.shape={y.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer) or (len(y) and y.min() < 0):
        raise ValueError("Expected integer class indices >= 0 as labels. "
                         f"Received: y of dtype {y.dtype}")
    indices = split_by_order(len(x), validation_split, test_split, seed)
    names = [str(i) for i in range(int(y.max()) + 1 if len(y) else 0)]

    def load(image, label):
        return resize_image(image, image_size, resize), tf.cast(label, tf.int32)

    def make(side):
        chosen = indices[side]
        ds = tf.data.Dataset.from_tensor_slices((x[chosen], y[chosen]))
        shuffled = shuffle and side == "train"
        dataset = finish(ds, load, len(chosen), batch_size=batch_size, seed=seed,
                          shuffle=shuffled, cache=cache_for(cache, side))
        content = hashlib.sha1(np.ascontiguousarray(x[chosen]).tobytes())
        content.update(np.ascontiguousarray(y[chosen]).tobytes())
        return fingerprints.register(dataset, "arrays", content.hexdigest(), image_size,
                                     resize, shuffled, labels=y[chosen])

    shares = {"validation": validation_split, "test": test_split}
    return {side: make(side) for side in SIDES
            if side == "train" or (shares[side] and len(indices[side]))}, names


def _check_image_size(image_size):
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    try:
        height, width = image_size
    except (TypeError, ValueError):
        height = width = None
    if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0
               for d in (height, width)):
        raise ValueError("Expected `image_size` to be (height, width) or an integer. "
                         f"Received: image_size={image_size!r}")
    return (height, width)
