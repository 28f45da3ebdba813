"""Reading labelled texts from files as people have them.

A table (CSV, or tab-separated like `sentence<TAB>label`), with or without a
header row, with stray empty columns, with rows in another encoding: every
readable row is kept, every other row is counted and named with its reason,
and nothing crashes halfway.
"""

import csv
import io
import os

import tensorflow as tf


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
