"""Image collections for `embed`: files, folders and TFRecord shards, with ids.

Each source becomes a dataset of `(image, position)`: `position` indexes the
source's `ids` (and `labels`), so an image that fails to decode is dropped
without shifting any other item's id, and is named afterwards (`lost`).
"""

import os

import numpy as np
import tensorflow as tf

from tl_keras.data.image_files import decode_rgb
from tl_keras.data.image_files import resize_image
from tl_keras.data.image_folder import scan_files
from tl_keras.data.image_folder import skipped_report
from tl_keras.data.tfrecords import ENCODED
from tl_keras.data.tfrecords import FILENAME
from tl_keras.data.tfrecords import LABEL
from tl_keras.data.tfrecords import shard_class_names
from tl_keras.data.tfrecords import shard_files
from tl_keras.log import say


class ImageSource:
    """What `embed` reads: `dataset` of `(image, position)` batches, the `ids`
    and `labels` (or None) by position, and `class_names` (or None)."""

    def __init__(self, dataset, ids, labels=None, class_names=None):
        self.dataset, self.ids, self.labels, self.class_names = dataset, ids, labels, \
            class_names


def image_files(items, size, *, resize, batch_size, verbose):
    """Files and folders (flat, or of class folders: the folder names label them)."""
    readable, skipped, missing = scan_files(items)
    if missing:
        raise ValueError(f"No such file or folder: {', '.join(missing[:5])}. "
                         f"Received: data={items[:5]!r}")
    if skipped:
        say(skipped_report(os.path.commonpath(items) if len(items) > 1 else items[0],
                           skipped, len(readable) + len(skipped)), verbose)
    if not readable:
        raise ValueError(f"Found no readable image in {', '.join(items[:5])}. "
                         f"Received: data={items[:5]!r}")
    labels, class_names = _folder_labels(readable, items)
    files = tf.data.Dataset.from_tensor_slices(
        (readable, np.arange(len(readable), dtype="int64")))
    return ImageSource(_decoded(files, size, resize, batch_size, read=tf.io.read_file),
                       readable, labels, class_names)


def image_records(pattern, size, *, resize, batch_size):
    """TFRecord shards of `tf.Example`s (`tl-keras to-tfrecord`'s schema): ids are
    the records' `image/filename`, else `SHARD#INDEX`; labels are theirs."""
    files = shard_files(pattern)
    spec = {FILENAME: tf.io.FixedLenFeature([], tf.string, default_value=""),
            LABEL: tf.io.FixedLenFeature([], tf.int64, default_value=-1)}
    ids, labels = [], []
    for shard in files:  # one light pass: the keys, not the images
        records = tf.data.TFRecordDataset(shard).batch(1024)
        for parsed in records.map(lambda r: tf.io.parse_example(r, spec)):
            for name, label in zip(parsed[FILENAME].numpy(), parsed[LABEL].numpy()):
                ids.append(name.decode("utf-8", "replace") or f"{shard}#{len(ids)}")
                labels.append(int(label))
    if not ids:
        raise ValueError(f"The TFRecord files hold no record. Received: data={pattern!r}")
    records = tf.data.TFRecordDataset(files)  # in order: positions follow the ids
    encoded = records.map(
        lambda r: tf.io.parse_single_example(r, {ENCODED: tf.io.FixedLenFeature([], tf.string)})
        [ENCODED])
    numbered = tf.data.Dataset.zip(encoded, tf.data.Dataset.range(len(ids)))
    labels = np.asarray(labels, dtype="int64")
    class_names = None
    if labels.min() < 0:  # records without labels: no classes
        labels = None
    else:
        class_names = shard_class_names(files, verbose=0)
    return ImageSource(_decoded(numbered, size, resize, batch_size), ids, labels, class_names)


def _decoded(encoded, size, resize, batch_size, read=None):
    """Read (with `read`, for paths), decode and resize in one parallel map, in any
    order: each image carries its position."""
    def load(data, position):
        data = read(data) if read is not None else data
        return resize_image(decode_rgb(data, size), size, resize), position

    images = encoded.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    batches = images.ignore_errors().batch(batch_size).prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    # Decoding leaves the model half the cores: on 2 cores, decoding on both made the
    # model's steps wait and halved the rate in some runs.
    options.threading.private_threadpool_size = max(1, (os.cpu_count() or 2) // 2)
    return batches.with_options(options)


def _folder_labels(paths, items):
    """Labels from class subfolders, when one folder was given and every image
    sits in a subfolder of it; else `(None, None)` (a flat folder, or files)."""
    if len(items) != 1 or not tf.io.gfile.isdir(items[0]):
        return None, None
    root = items[0]
    folders = [os.path.relpath(p, root).split(os.sep)[0] for p in paths]
    if any(os.path.relpath(p, root) == f for p, f in zip(paths, folders)):
        return None, None  # images directly in the folder: no classes
    class_names = sorted(set(folders))
    if len(class_names) < 2:
        return None, None
    index = {name: i for i, name in enumerate(class_names)}
    return np.array([index[f] for f in folders], dtype="int64"), class_names
