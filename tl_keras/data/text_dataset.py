"""Text datasets: CSV files, folders of .txt files per class, TFDS names, arrays.

Every pipeline yields batches of `(texts, labels)`: strings and integer labels.
"""

import hashlib
import os

import numpy as np
import tensorflow as tf

from tl_keras.data import fingerprints
from tl_keras.data.image_dataset import with_sides
from tl_keras.data.splits import SIDES
from tl_keras.data.splits import check_splits
from tl_keras.data.splits import empty_side_error
from tl_keras.data.splits import found_line
from tl_keras.data.splits import split_by_hash
from tl_keras.data.text_files import read_texts
from tl_keras.data.text_tfrecords import text_sides_from_tfrecords
from tl_keras.data.tfds import load_tfds
from tl_keras.data.tfrecords import is_tfrecord_source
from tl_keras.log import say

AUTOTUNE = tf.data.AUTOTUNE


def text_dataset(source, *, text_column="text", label_column="label", batch_size=32,
                 validation_split=0.2, seed=0, test_split=0.0, encoding="utf-8",
                 delimiter=None, header="auto", split=None, data_dir=None, verbose="auto"):
    """Returns `(train, validation, class_names)`: batched pipelines of strings;
    with `test_split`, `(train, validation, test, class_names)`.

    The split is stable: each example's side is decided by a hash of its file
    path (folders) or of its text (CSV, arrays), so adding examples never moves
    old ones across it; a test split comes from the other end of the same hash
    (`tl_keras.data.splits`), and nothing in training reads it. Rows with a
    missing text or label, too few fields, or bytes that are not in `encoding`
    are skipped, counted and reported once (with their line numbers); they
    never stop the reading.

    To adapt a text model's vocabulary on the training texts, pass the training
    pipeline itself: `build_text_model(vectors, 2, texts=train)`.

    Args:
        source: a table file: CSV, or tab-separated such as `sentence<TAB>label`
            lines, with or without a header row (see `header`); a directory
            with one subfolder of `.txt` files per class; TFRecord shards of
            `tf.Example`s, a path or glob whose file name holds `tfrecord`
            (`"gs://bucket/reviews-*.tfrecord"`; the features named by
            `text_column` and `label_column`, see `tl_keras.data.text_tfrecords`);
            `"tfds:NAME"` (e.g. `"tfds:imdb_reviews"`); or a tuple
            `(texts, labels)` of arrays (labels strings or integers).
        text_column: the column of the texts: a name in the header row, or a
            position (from 0). Defaults to `"text"` (without a header: the
            first field).
        label_column: the column of the labels, likewise. Defaults to
            `"label"` (without a header: the last field).
        batch_size: texts per batch. Defaults to `32`.
        validation_split: share held out for validation, in [0, 1). Defaults
            to `0.2`.
        seed: seed of the split and the shuffle. Defaults to `0`.
        test_split: share held out as a test set, in [0, 1), for the final,
            unselected evaluation. Defaults to `0`: none.
        encoding: of the table and `.txt` files (`"latin-1"`, `"cp1252"`...).
            Defaults to `"utf-8"`.
        delimiter: of a table: `","`, `"\t"`, ... Defaults to `None`: a tab
            when the first line has one, else a comma.
        header: `True`, `False` or `"auto"`: the table's first row names its
            columns when it holds `text_column`. Defaults to `"auto"`.
        split: TFDS only: the split(s), as in `tl_keras.image_dataset`
            (three names: train, validation, test).
            Defaults to `None`.
        data_dir: TFDS only: where prepared datasets are. Defaults to `None`.
        verbose: print the report of skipped rows (`0` silences it). Defaults
            to `"auto"`.

    Returns:
        `(train, validation, class_names)`; class names are the sorted label
        values (CSV, arrays), the folder names, or TFDS's names. With
        `test_split` (or three TFDS splits), `(train, validation, test,
        class_names)`.

    Raises:
        ValueError: a CSV without the named columns (the message lists its
            columns), fewer than two classes, an unreadable encoding, or bad
            arguments.
        tl_keras.DownloadError: a TFDS dataset could not be downloaded.

    Example:

    >>> train, val, class_names = tl_keras.text_dataset(
    ...     "reviews.csv", text_column="review", label_column="sentiment")
    Found 16 texts in 2 classes in reviews.csv: 14 for training, 2 held out for
    validation (validation_split=0.2; 0 reads the data whole).
    """
    check_splits(validation_split, test_split)
    if isinstance(source, str) and source.startswith("tfds:"):
        return _from_tfds(source[len("tfds:"):], split, data_dir, batch_size,
                          validation_split, test_split, seed)
    if is_tfrecord_source(source):
        sides, class_names = text_sides_from_tfrecords(
            source, text_column=text_column, label_column=label_column,
            batch_size=batch_size, validation_split=validation_split,
            test_split=test_split, seed=seed, verbose=verbose)
        return with_sides(sides, class_names)
    texts, y, keys, class_names = read_texts(
        source, text_column=text_column, label_column=label_column, encoding=encoding,
        delimiter=delimiter, header=header, verbose=verbose)
    keys = keys or texts
    indices = split_by_hash(keys, validation_split, test_split, seed)
    where = os.fspath(source) if isinstance(source, (str, os.PathLike)) else "(arrays)"
    say(found_line(len(texts), "texts", len(class_names), where, indices, validation_split,
                   test_split), verbose)
    for side, share in (("validation", validation_split), ("test", test_split)):
        if share and not indices[side]:
            raise empty_side_error(side, share, len(texts), "texts", where)
    texts = np.asarray(texts, dtype=object)

    def make(side):
        chosen = np.asarray(indices[side], dtype="int64")
        strings = texts[chosen].astype(str)
        ds = tf.data.Dataset.from_tensor_slices((strings, y[chosen]))
        if side == "train":
            ds = ds.shuffle(max(len(chosen), 1), seed=seed, reshuffle_each_iteration=True)
        content = hashlib.sha1("\x00".join(strings.tolist()).encode("utf-8"))
        content.update(np.ascontiguousarray(y[chosen]).tobytes())
        return fingerprints.register(ds.batch(batch_size).prefetch(AUTOTUNE), "texts",
                                     content.hexdigest(), side == "train",
                                     labels=y[chosen])

    return with_sides({side: make(side) for side in SIDES
                       if indices[side] or side == "train"}, class_names)


def _from_tfds(name, split, data_dir, batch_size, validation_split, test_split, seed):
    datasets, _, class_names = load_tfds(name, split=split, data_dir=data_dir,
                                         validation_split=validation_split,
                                         test_split=test_split)

    def make(side):
        ds = datasets[side].map(lambda text, y: (text, tf.cast(y, tf.int32)))
        if side == "train":
            ds = ds.shuffle(10_000, seed=seed, reshuffle_each_iteration=True)
        return ds.batch(batch_size).prefetch(AUTOTUNE)

    return with_sides({side: make(side) for side in datasets}, class_names)
