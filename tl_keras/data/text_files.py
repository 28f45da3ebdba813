"""Reading labelled texts from files as people have them.

A table (CSV, or tab-separated like `sentence<TAB>label`), with or without a
header row, with stray empty columns, with rows in another encoding: every
readable row is kept, every other row is counted and named with its reason,
and nothing crashes halfway.
"""

import csv
import io
import os

import numpy as np
import tensorflow as tf

from tl_keras.log import say


def read_table(path, *, text_column="text", label_column="label", encoding="utf-8",
               delimiter=None, header="auto"):
    """Reads `(texts, labels, skipped)` from a CSV or tab-separated file.

    Args:
        path: the file.
        text_column, label_column: column names (with a header row) or
            positions (integers, from 0; negative from the end).
        encoding: the file's encoding. A row with bytes that are not valid in
            it is skipped and counted (the report suggests an encoding), not
            a crash. Defaults to `"utf-8"`.
        delimiter: `","`, `"\\t"`..., or `None`: a tab when the first line has
            one (and `.tsv` files), else a comma.
        header: `True`, `False`, or `"auto"`: a header when the first row names
            `text_column`; without one, the text is the first field and the
            label the last, unless positions are given.
    """
    with tf.io.gfile.GFile(path, "rb") as f:  # any filesystem (gs://, s3://, ram://)
        raw = f.read()
    content = raw.decode(encoding, errors="surrogateescape")
    if content.startswith("\ufeff"):  # the byte order mark Excel writes in UTF-8 files
        content = content[1:]
    first_line = content.split("\n", 1)[0]
    if delimiter is None:
        delimiter = "\t" if "\t" in first_line or path.lower().endswith(".tsv") else ","
    rows = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter,
                      quoting=csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL)
    first = next(rows, None)
    if first is None:
        raise ValueError(f"Expected labelled texts. Received: an empty file {path!r}")
    columns = [name.strip() for name in first]
    has_header = header is True or (header == "auto" and isinstance(text_column, str)
                                    and text_column in columns)
    if has_header:
        text_index = _position(text_column, columns, path, "text_column", label_column)
        label_index = _position(label_column, columns, path, "label_column", text_column)
        start, pending = 2, []
    else:
        text_index = text_column if isinstance(text_column, int) else 0
        label_index = label_column if isinstance(label_column, int) else -1
        start, pending = 1, [first]
    texts, labels, skipped = [], [], []
    for number, row in enumerate(_chain(pending, _readable(rows)), start=start):
        if isinstance(row, csv.Error):
            skipped.append(f"line {number} ({row})")
            continue
        if not any(field.strip() for field in row):
            continue  # a blank line
        reason = _row_problem(row, text_index, label_index, encoding)
        if reason:
            skipped.append(f"line {number} ({reason})")
            continue
        texts.append(row[text_index].strip())
        labels.append(row[label_index].strip())
    if not has_header and header == "auto":
        if len(skipped) > len(texts):  # read without a header, most rows made no sense
            raise ValueError(
                f"{len(skipped):,} of {len(skipped) + len(texts):,} rows of "
                f"{os.path.basename(path)} were unreadable as text (first field) and "
                f"label (last field), e.g. {skipped[0]}: its first row, "
                f"{[c.strip() for c in first if c.strip()]}, names no column "
                f"{text_column!r}. Pass text_column= and label_column= (names or "
                f"positions; --text-column and --label-column). Received: "
                f"text_column={text_column!r}, label_column={label_column!r}")
        _check_not_a_header(first, labels, text_column, path, delimiter)
    return texts, labels, skipped


def _readable(rows):
    """The rows, with a row the csv module refuses (a field over its limit of
    131,072 characters) as its `csv.Error`, in its place: the reader goes on
    with the next line."""
    while True:
        try:
            yield next(rows)
        except StopIteration:
            return
        except csv.Error as error:
            yield error


def _chain(first_rows, rows):
    yield from first_rows
    yield from rows


def _position(column, columns, path, argument, other):
    if isinstance(column, int):
        if -len(columns) <= column < len(columns):
            return column % len(columns)
    elif column in columns:
        return columns.index(column)
    raise ValueError(
        f"{os.path.basename(path)} has no column {column!r}. Its columns: "
        f"{[c for c in columns if c]}. Pass text_column= and label_column= (names or "
        f"positions). Received: {argument}={column!r}, "
        f"{'label_column' if argument == 'text_column' else 'text_column'}={other!r}")


def _row_problem(row, text_index, label_index, encoding):
    try:
        text, label = row[text_index], row[label_index]
    except IndexError:
        return f"{len(row)} fields"
    if _has_undecodable(text) or _has_undecodable(label):
        return f"bytes that are not {encoding}; pass encoding='latin-1' if that is its " \
               "encoding"
    if not text.strip():
        return "missing text"
    if not label.strip():
        return "missing label"
    return None


def _has_undecodable(value):
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _check_not_a_header(first, labels, text_column, path, delimiter):
    """A headerless read whose first label appears nowhere else was most likely
    a header row that does not name `text_column`."""
    if len(labels) > 2 and labels[0] not in labels[1:] and len(set(labels[1:])) <= 0.5 * len(
            labels):
        raise ValueError(
            f"The first row of {os.path.basename(path)} looks like a header, without a "
            f"column {text_column!r}. Its columns: {[c.strip() for c in first if c.strip()]}. "
            f"Pass text_column= and label_column=, or header=False if it is data. "
            f"Received: text_column={text_column!r}, delimiter={delimiter!r}")


def read_texts(source, *, text_column="text", label_column="label", encoding="utf-8",
               delimiter=None, header="auto", verbose="auto"):
    """`(texts, labels, keys, class_names)` of a table, a folder of class folders
    or `(texts, labels)` arrays, as `text_dataset` reads them: labels are class
    indices, keys the file paths of a folder's texts (else None). Skipped rows
    are reported once."""
    if isinstance(source, (tuple, list)):
        if len(source) != 2 or len(source[0]) != len(source[1]):
            raise ValueError("Expected (texts, labels) of the same length. "
                             f"Received: {len(source)} items")
        texts, labels, keys = [str(t) for t in source[0]], list(source[1]), None
        skipped = []
    else:
        path = os.fspath(source)
        if tf.io.gfile.isdir(path):
            texts, labels, keys, skipped = _read_folder(path, encoding)
        elif tf.io.gfile.exists(path):
            texts, labels, skipped = read_table(
                path, text_column=text_column, label_column=label_column,
                encoding=encoding, delimiter=delimiter, header=header)
            keys = None
        else:
            raise ValueError(f"Expected a CSV file, a folder of class folders, 'tfds:NAME' "
                             f"or (texts, labels). Received: source={path!r}")
    if skipped:
        lines = [f"Skipped {len(skipped)} of {len(skipped) + len(texts)} rows of {source} "
                 "(training goes on without them):"]
        lines += [f"  {reason}" for reason in skipped[:20]]
        if len(skipped) > 20:
            lines.append(f"  ... and {len(skipped) - 20} more")
        say("\n".join(lines), verbose)
    class_names = sorted_class_names(labels)
    if len(class_names) < 2:
        raise ValueError(f"Expected at least two classes. Received: labels {class_names}")
    index = {name: i for i, name in enumerate(class_names)}
    y = np.asarray([index[str(label)] for label in labels], dtype="int32")
    return texts, y, keys, class_names


def sorted_class_names(labels):
    """The distinct labels as strings, numbers in numeric order first."""
    return sorted({str(label) for label in labels},
                  key=lambda v: (not v.lstrip("-").isdigit(),
                                 int(v) if v.lstrip("-").isdigit() else 0, v))


def _read_folder(path, encoding):
    gfile = tf.io.gfile
    names = sorted(d for d in (e.rstrip("/") for e in gfile.listdir(path))
                   if gfile.isdir(os.path.join(path, d)) and not d.startswith("."))
    texts, labels, keys, skipped = [], [], [], []
    for name in names:
        folder = os.path.join(path, name)
        for file in sorted(gfile.listdir(folder)):
            if not file.endswith(".txt"):
                continue
            try:
                with gfile.GFile(os.path.join(folder, file), "rb") as f:
                    text = f.read().decode(encoding)
            except UnicodeDecodeError:
                skipped.append(f"{name}/{file} (not {encoding})")
                continue
            if not text.strip():
                skipped.append(f"{name}/{file} (empty)")
                continue
            texts.append(text)
            labels.append(name)
            keys.append(f"{name}/{file}")
    return texts, labels, keys, skipped
