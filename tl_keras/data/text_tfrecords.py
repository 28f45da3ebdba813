"""Texts in TFRecord shards of `tf.Example`s: reading them for `text_dataset`,
and writing any text source `text_dataset` reads as them.

The schema is TFDS's for its text datasets (`imdb_reviews` and others), so
records written by TFDS read as they are:

- `text` (`text_column`): the text, UTF-8 bytes;
- `label` (`label_column`): the class index (int64), or the class name (bytes).

Class names: for indices, `labels.txt` beside the shards (the writer writes
it), else `"0"`, `"1"`, ... up to the largest index found; for names, the
names found, sorted as `text_dataset` sorts a table's labels. Either takes one
pass over the labels when it must look. Records with an empty text are
skipped. The split is the stable one of every source, keyed by the text.
"""


import numpy as np
import tensorflow as tf

from tl_keras.data import fingerprints
from tl_keras.data.splits import SIDES
from tl_keras.data.text_files import read_texts
from tl_keras.data.text_files import sorted_class_names
from tl_keras.data.tfrecords import bytes_feature
from tl_keras.data.tfrecords import check_shards
from tl_keras.data.tfrecords import int64_feature
from tl_keras.data.tfrecords import read_labels_file
from tl_keras.data.tfrecords import records_on_side
from tl_keras.data.tfrecords import shard_files
from tl_keras.data.tfrecords import shard_stats
from tl_keras.data.tfrecords import write_shards
from tl_keras.log import say


def _feature_kinds(files):
    """`{feature name: "bytes" | "int64" | "float"}` of the first record."""
    for record in tf.data.TFRecordDataset(files[:1]).take(1):
        example = tf.train.Example.FromString(record.numpy())
        return {name: feature.WhichOneof("kind").replace("_list", "")
                for name, feature in example.features.feature.items()}
    raise ValueError(f"The TFRecord file holds no record. Received: {files[0]!r}")


def _check_columns(files, text_column, label_column):
    """The label's kind (`"int64"` or `"bytes"`), or an error naming the
    features the records hold."""
    kinds = _feature_kinds(files)
    for name, column, allowed in (("text_column", text_column, ("bytes",)),
                                  ("label_column", label_column, ("int64", "bytes"))):
        if not isinstance(column, str) or kinds.get(column) not in allowed:
            found = kinds.get(column) if isinstance(column, str) else None
            raise ValueError(
                f"Expected `{name}` to name a {' or '.join(allowed)} feature of the "
                f"records. They hold {dict(sorted(kinds.items()))}"
                f"{f' ({column!r} is {found})' if found else ''}. "
                f"Received: {name}={column!r}")
    return kinds[label_column]


def _class_names(files, label_column, kind, verbose):
    names = read_labels_file(files) if kind == "int64" else None
    if names is not None:
        return names
    say(f"Reading the class names from the records' {label_column!r} (one pass"
        f"{'; write labels.txt beside the shards to skip it' if kind == 'int64' else ''}).",
        verbose)
    spec = {label_column: tf.io.FixedLenFeature(
        [], tf.int64 if kind == "int64" else tf.string)}
    records = tf.data.TFRecordDataset(files, num_parallel_reads=tf.data.AUTOTUNE)
    found = set()
    for parsed in records.batch(4096).map(lambda r: tf.io.parse_example(r, spec)):
        values = parsed[label_column].numpy()
        found.update(values.tolist() if kind == "int64"
                     else (v.decode("utf-8") for v in values))
    if kind == "int64":
        return [str(i) for i in range(max(found) + 1)] if found else []
    return sorted_class_names(found)


def text_sides_from_tfrecords(pattern, *, text_column, label_column, batch_size,
                              validation_split, test_split, seed, verbose):
    """`({side: dataset}, class_names)` for `tl_keras.text_dataset` from shards."""

    files = shard_files(pattern)
    kind = _check_columns(files, text_column, label_column)
    class_names = _class_names(files, label_column, kind, verbose)
    if len(class_names) < 2:
        raise ValueError("Expected at least two classes. Received: labels "
                         f"{class_names} in {pattern}")
    say(f"Reading {len(files)} TFRecord file(s) of texts in {len(class_names)} classes "
        f"from {pattern}, split by text (validation_split={validation_split}, "
        f"test_split={test_split}); empty texts are skipped.", verbose)
    features = {text_column: tf.io.FixedLenFeature([], tf.string),
                label_column: tf.io.FixedLenFeature(
                    [], tf.int64 if kind == "int64" else tf.string)}
    if kind == "bytes":
        table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
            tf.constant(class_names), tf.range(len(class_names), dtype=tf.int64)), -1)
    stats = shard_stats(files)

    def pair(example):
        label = example[label_column]
        label = label if kind == "int64" else table.lookup(label)
        return example[text_column], tf.cast(label, tf.int32)

    def make(side):
        records = records_on_side(files, features, lambda e: e[text_column],
                                  validation_split, test_split, seed, side)
        records = records.map(pair, num_parallel_calls=tf.data.AUTOTUNE).filter(
            lambda text, label: tf.strings.length(tf.strings.strip(text)) > 0)
        if side == "train":
            records = records.shuffle(10_000, seed=seed, reshuffle_each_iteration=True)
        dataset = records.batch(batch_size).prefetch(tf.data.AUTOTUNE)
        return fingerprints.register(dataset, "text tfrecord", stats, text_column,
                                     label_column, side, validation_split, test_split,
                                     seed, side == "train")

    shares = {"train": 1, "validation": validation_split, "test": test_split}
    return {side: make(side) for side in SIDES if shares[side]}, class_names


def write_text_tfrecords(source, output_dir, *, shards=4, text_column="text",
                         label_column="label", encoding="utf-8", delimiter=None,
                         header="auto", verbose="auto"):
    """Writes a text source as TFRecord shards that
    `tl_keras.text_dataset("OUT/*.tfrecord")` reads.

    The source is read as `text_dataset` reads it (a table, a folder of class
    folders, or `(texts, labels)` arrays), its skipped rows reported; each
    record holds `text` and `label` (the class index), spread over `shards`
    files in turn, with `labels.txt` beside them.

    Args:
        source: what `tl_keras.text_dataset` reads, except TFDS names and
            TFRecords.
        output_dir: where the shards go (created; any filesystem
            tf.io.gfile knows).
        shards: how many files. Defaults to `4`.
        text_column, label_column, encoding, delimiter, header: as for
            `tl_keras.text_dataset`.
        verbose: print the report and a last line (`0` silences them).
            Defaults to `"auto"`.

    Returns:
        The paths of the written shards.

    Example:

    >>> paths = tl_keras.data.text_tfrecords.write_text_tfrecords(
    ...     "reviews.csv", "review_records", shards=2, text_column="review",
    ...     label_column="sentiment", verbose=0)
    >>> train, val, class_names = tl_keras.text_dataset("review_records/*.tfrecord",
    ...                                                 verbose=0)
    >>> len(paths), class_names
    (2, ['neg', 'pos'])
    """

    check_shards(shards)  # before reading the source
    texts, labels, _, class_names = read_texts(
        source, text_column=text_column, label_column=label_column, encoding=encoding,
        delimiter=delimiter, header=header, verbose=verbose)
    order = np.random.default_rng(0).permutation(len(texts))  # classes mixed
    examples = ({"text": bytes_feature(str(texts[i]).encode("utf-8")),
                 "label": int64_feature(labels[i])} for i in order)
    paths = write_shards(examples, output_dir, shards, class_names)
    say(f"Wrote {len(texts):,} texts of {len(class_names)} classes to {shards} TFRecord "
        f"files in {output_dir}.", verbose)
    return paths
