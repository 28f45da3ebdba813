"""Images in TFRecord shards of `tf.Example`s: reading them, and writing a folder as them.

The schema is the one TF Serving's Classify API and the export's `classify`
signature take, and TF's own image datasets use:

- `image/encoded`: the image file's bytes (JPEG, PNG, GIF, BMP, WebP);
- `image/class/label`: the class index (int64);
- `image/class/text`: the class name (optional);
- `image/filename`: the file's path within the dataset (optional; it keys the
  stable split, the image bytes do without it).

Class names come from `labels.txt` beside the shards (the writer writes it),
else from one pass over the records' `image/class/text`.
"""

import os
import re

import numpy as np
import tensorflow as tf

from tl_keras.data import fingerprints
from tl_keras.data.image_files import decode_rgb
from tl_keras.data.image_files import resize_image
from tl_keras.data.image_folder import scan_image_folder
from tl_keras.data.image_folder import skipped_report
from tl_keras.data.pipeline import cache_for
from tl_keras.data.pipeline import finish
from tl_keras.data.splits import SIDES
from tl_keras.data.splits import hash_position
from tl_keras.log import say

ENCODED = "image/encoded"
LABEL = "image/class/label"
TEXT = "image/class/text"
FILENAME = "image/filename"
LABELS_FILE = "labels.txt"

_FEATURES = {
    ENCODED: tf.io.FixedLenFeature([], tf.string),
    LABEL: tf.io.FixedLenFeature([], tf.int64),
    FILENAME: tf.io.FixedLenFeature([], tf.string, default_value=""),
}


# File names of TFRecord shards: by extension, or TFDS's `NAME-00000-of-00008`.
TFRECORD_EXTENSIONS = (".tfrecord", ".tfrecords", ".tfrec")
_TFDS_SHARD = re.compile(r"(-(\d{5}|\*)-of-(\d{5}|\*)|-?\*)$")


def is_tfrecord_source(source):
    """Whether `source` names TFRecord shards: a path or glob whose file name
    ends in `.tfrecord`, `.tfrecords` or `.tfrec` (a TFDS shard's
    `.tfrecord-00000-of-00008` too), or a directory that holds such files.

    Example:

    >>> is_tfrecord_source("gs://bucket/train-*.tfrecord"), is_tfrecord_source("pets/")
    (True, False)
    """
    if not isinstance(source, str):
        return False
    name = source.rstrip("/").rsplit("/", 1)[-1].lower()
    stem = _TFDS_SHARD.sub("", name)
    if stem.endswith(TFRECORD_EXTENSIONS):
        return True
    if any(c in source for c in "*?[") or not tf.io.gfile.isdir(source):
        return False
    return any(_TFDS_SHARD.sub("", entry.lower()).endswith(TFRECORD_EXTENSIONS)
               for entry in tf.io.gfile.listdir(source))


def shard_pattern(source):
    """The glob of a TFRecord source: a directory's shards, else `source` itself."""
    if not any(c in source for c in "*?[") and tf.io.gfile.isdir(source):
        return source.rstrip("/") + "/*.tfrec*"
    return source


def shard_stats(files):
    """`[(path, length, mtime_nsec)]` of the shards, for the data's fingerprint:
    one `stat` call a shard (each is a request on a bucket)."""
    return [(path, stat.length, stat.mtime_nsec)
            for path, stat in ((path, tf.io.gfile.stat(path)) for path in files)]


def read_labels_file(files):
    """The class names in `labels.txt` beside the first shard, or None."""
    labels_file = os.path.join(os.path.dirname(files[0]), LABELS_FILE)
    if not tf.io.gfile.exists(labels_file):
        return None
    with tf.io.gfile.GFile(labels_file, "r") as f:
        return [line.strip() for line in f.read().splitlines() if line.strip()]


def shard_files(pattern):
    """The shards `pattern` (a glob, or a directory of shards) matches, sorted, or
    a ValueError naming the pattern."""
    files = sorted(tf.io.gfile.glob(shard_pattern(pattern)))
    if not files:
        raise ValueError(f"No TFRecord file matches the pattern. Received: source={pattern!r}")
    return files


def shard_class_names(files, verbose="auto"):
    """The class names: `labels.txt` beside the first shard, else the records'
    `image/class/text` (one pass over their labels), else `"0"`, `"1"`, ..."""
    names = read_labels_file(files)
    if names is not None:
        return names
    say(f"No {LABELS_FILE} beside the shards: reading the class names from the records "
        "(one pass; write labels.txt to skip it).", verbose)
    spec = {LABEL: tf.io.FixedLenFeature([], tf.int64),
            TEXT: tf.io.FixedLenFeature([], tf.string, default_value="")}
    names = {}
    records = tf.data.TFRecordDataset(files, num_parallel_reads=tf.data.AUTOTUNE)
    for parsed in records.batch(1024).map(lambda r: tf.io.parse_example(r, spec)):
        for label, text in zip(parsed[LABEL].numpy(), parsed[TEXT].numpy()):
            names.setdefault(int(label), text.decode("utf-8") or str(int(label)))
    if not names:
        raise ValueError(f"The TFRecord files hold no record. Received: {files[0]!r}, ...")
    count = max(names) + 1
    return [names.get(index, str(index)) for index in range(count)]


def records_on_side(files, features, key_of, validation_split, test_split, seed, side):
    """The parsed examples (dicts of `features`) on `side` of the stable split:
    an example's position in [0, 1) is `splits.hash_position` of
    `key_of(example)`, the rule of folders and tables, so a folder (or table)
    and the shards written from it put every example on the same side."""
    files_ds = tf.data.Dataset.from_tensor_slices(files)
    records = files_ds.interleave(
        tf.data.TFRecordDataset, cycle_length=min(len(files), 16),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    parsed = records.map(lambda r: tf.io.parse_single_example(r, features),
                         num_parallel_calls=tf.data.AUTOTUNE)

    if not (validation_split or test_split):
        return parsed

    def positions(keys):  # the rule of folders and tables (splits.hash_position)
        return np.asarray([hash_position(key.decode("utf-8", errors="replace"), seed)
                           for key in keys], dtype="float64")

    def with_position(examples):
        position = tf.numpy_function(positions, [key_of(examples)], tf.float64,
                                     stateful=False)
        return examples, tf.reshape(position, [-1])

    def on_side(example, position):
        is_validation = position < validation_split
        is_test = position >= 1.0 - test_split if test_split else tf.constant(False)
        if side == "validation":
            return is_validation
        if side == "test":
            return is_test
        return tf.logical_not(tf.logical_or(is_validation, is_test))

    located = parsed.batch(256).map(with_position, num_parallel_calls=tf.data.AUTOTUNE,
                                    deterministic=True).unbatch()
    return located.filter(on_side).map(lambda example, position: example)


def parsed_records(files, validation_split, test_split, seed, side):
    """`(encoded, label)` of the image records on `side`: keyed by their
    `image/filename`, or by their bytes when they have none."""
    def key_of(example):
        return tf.where(tf.strings.length(example[FILENAME]) > 0, example[FILENAME],
                        example[ENCODED])

    parsed = records_on_side(files, _FEATURES, key_of, validation_split, test_split, seed,
                             side)
    return parsed.map(lambda e: (e[ENCODED], tf.cast(e[LABEL], tf.int32)))


def image_sides_from_tfrecords(pattern, *, image_size, batch_size, validation_split,
                               test_split, seed, resize, cache, shuffle, verbose):
    """`({side: dataset}, class_names)` for `tl_keras.image_dataset` from shards."""

    files = shard_files(pattern)
    class_names = shard_class_names(files, verbose)
    say(f"Reading {len(files)} TFRecord file(s) of {len(class_names)} classes from "
        f"{pattern}, split by record (validation_split={validation_split}, "
        f"test_split={test_split}); undecodable images are skipped.", verbose)
    stats = shard_stats(files)

    def load(encoded, label):
        return resize_image(decode_rgb(encoded, image_size), image_size, resize), label

    def make(side):
        shuffled = shuffle and side == "train"
        records = parsed_records(files, validation_split, test_split, seed, side)
        dataset = finish(records, load, 10_000, batch_size=batch_size, seed=seed,
                          shuffle=shuffled, cache=cache_for(cache, side))
        return fingerprints.register(dataset, "tfrecord", stats, image_size, resize, side,
                                     validation_split, test_split, seed, shuffled)

    shares = {"train": 1, "validation": validation_split, "test": test_split}
    return {side: make(side) for side in SIDES if shares[side]}, class_names


def write_image_tfrecords(directory, output_dir, *, shards=4, verbose="auto"):
    """Writes a folder of class subfolders as TFRecord shards that
    `tl_keras.image_dataset("OUT/*.tfrecord")` reads.

    Every file is checked as `image_dataset` checks a folder: files that are not
    decodable images are skipped and reported (named, with the reason), never
    written. The image bytes go in as they are (no re-encoding), spread over
    `shards` files in turn, with `labels.txt` beside them.

    Args:
        directory: a folder of class subfolders (any filesystem tf.io.gfile
            knows).
        output_dir: where the shards go (created).
        shards: how many files. Defaults to `4`.
        verbose: print the report and a last line (`0` silences them).
            Defaults to `"auto"`.

    Returns:
        The paths of the written shards.

    Example:

    >>> paths = tl_keras.data.tfrecords.write_image_tfrecords(
    ...     "flower_photos", "flower_records", shards=2, verbose=0)
    >>> [p.rsplit("/", 1)[-1] for p in paths]
    ['data-00000-of-00002.tfrecord', 'data-00001-of-00002.tfrecord']
    """

    check_shards(shards)
    folder = scan_image_folder(directory)
    if folder.skipped:
        say(skipped_report(directory, folder.skipped,
                           len(folder.paths) + len(folder.skipped)), verbose)

    def examples():
        order = np.random.default_rng(0).permutation(len(folder.paths))  # classes mixed
        for index in order:
            path, label = folder.paths[index], folder.labels[index]
            relative = os.path.relpath(path, directory).replace(os.sep, "/")
            with tf.io.gfile.GFile(path, "rb") as f:
                encoded = f.read()
            yield {ENCODED: bytes_feature(encoded), LABEL: int64_feature(label),
                   TEXT: bytes_feature(folder.class_names[label].encode("utf-8")),
                   FILENAME: bytes_feature(relative.encode("utf-8"))}

    paths = write_shards(examples(), output_dir, shards, folder.class_names)
    say(f"Wrote {len(folder.paths):,} images of {len(folder.class_names)} classes to "
        f"{shards} TFRecord files in {output_dir} (skipped {len(folder.skipped)}).", verbose)
    return paths


def check_shards(shards):
    """A shard count that is an integer >= 1, or a ValueError."""
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise ValueError("Expected `shards` to be an integer >= 1. "
                         f"Received: shards={shards!r}")


def write_shards(examples, output_dir, shards, class_names):
    """Writes `examples` (dicts of `tf.train.Feature`s) to `shards` files in
    turn, and `labels.txt` beside them; returns the shards' paths."""
    check_shards(shards)
    tf.io.gfile.makedirs(output_dir)
    paths = [os.path.join(output_dir, f"data-{i:05d}-of-{shards:05d}.tfrecord")
             for i in range(shards)]
    writers = [tf.io.TFRecordWriter(path) for path in paths]
    try:
        for position, feature in enumerate(examples):
            example = tf.train.Example(features=tf.train.Features(feature=feature))
            writers[position % shards].write(example.SerializeToString())
    finally:
        for writer in writers:
            writer.close()
    with tf.io.gfile.GFile(os.path.join(output_dir, LABELS_FILE), "w") as f:
        f.write("".join(f"{name}\n" for name in class_names))
    return paths


def bytes_feature(value):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def int64_feature(value):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))
