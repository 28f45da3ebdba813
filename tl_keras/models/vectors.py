"""Pre-trained word vectors: GloVe text, word2vec text and word2vec binary files.

Files are streamed (the real ones are 1-4 GB): memory stays near the size of the
vectors kept, not of the file. `.gz` files are read as they are.
"""

import gzip
import os

import numpy as np

FORMATS = ("auto", "glove", "word2vec", "word2vec_binary")


def _open(path):
    """The file as bytes, through tf.io.gfile (gs:// too); `.gz` decompressed."""
    import tensorflow as tf

    raw = tf.io.gfile.GFile(path, "rb")
    return gzip.GzipFile(fileobj=raw, mode="rb") if path.endswith(".gz") else raw


def detect_format(path):
    """`"glove"`, `"word2vec"` or `"word2vec_binary"`, from the file's first bytes."""
    with _open(path) as f:
        head = f.read(4096)
    if not head.strip():
        raise ValueError(f"The word vectors file is empty. Received: path={path!r}")
    first, _, rest = head.partition(b"\n")
    fields = first.split()
    if len(fields) == 2 and all(x.isdigit() for x in fields):
        try:
            next_line = rest.split(b"\n", 1)[0].decode("utf-8")
        except UnicodeDecodeError:
            return "word2vec_binary"
        return "word2vec" if len(next_line.split()) >= int(fields[1]) + 1 else \
            "word2vec_binary"
    return "glove"


def load_word_vectors(path, *, format="auto", limit=None):
    """Reads pre-trained word vectors, streaming the file.

    Args:
        path: a GloVe text file (`word v1 ... vn` per line), a word2vec text
            file (a `count dim` header line, then `word v1 ... vn`), or a
            word2vec binary file (`GoogleNews-vectors-negative300.bin` layout);
            `.gz` compressed too.
        format: `"auto"` (from the first bytes), `"glove"`, `"word2vec"` or
            `"word2vec_binary"`. Defaults to `"auto"`.
        limit: keep the first `limit` words only (files list frequent words
            first). Defaults to `None`: all.

    Returns:
        A tuple `(words, vectors)`: a list of strings and a float32 array
        `[len(words), dim]`. A word seen twice keeps its first vector.

    Raises:
        ValueError: an empty file, a line whose dimension differs from the
            first one (the message gives its line number), or a bad format.

    Example:

    >>> words, vectors = tl_keras.load_word_vectors("glove.6B.100d.txt",
    ...                                             limit=50000)
    """
    import tensorflow as tf

    path = os.fspath(path)
    if not tf.io.gfile.exists(path) or tf.io.gfile.isdir(path):
        raise FileNotFoundError(f"Word vectors file not found. Received: path={path!r}")
    if format not in FORMATS:
        raise ValueError(f"Unknown format. Expected one of {FORMATS}. "
                         f"Received: format={format!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                              or limit < 1):
        raise ValueError("Expected `limit` to be a positive integer. "
                         f"Received: limit={limit!r}")
    if format == "auto":
        format = detect_format(path)
    reader = _read_binary if format == "word2vec_binary" else _read_text
    buffer = _Rows()
    words, seen = [], set()
    for word, vector in reader(path, header=format != "glove"):
        if word in seen:
            continue
        if buffer.dim is None:
            buffer.start(len(vector))
        seen.add(word)
        words.append(word)
        buffer.append(vector)
        if limit is not None and len(words) >= limit:
            break
    if not words:
        raise ValueError(f"The word vectors file holds no vectors. Received: path={path!r}")
    return words, buffer.array()


class _Rows:
    """A float32 matrix grown by doubling, so memory stays near what is kept."""

    def __init__(self):
        self.dim = None
        self.data = None
        self.count = 0

    def start(self, dim):
        self.dim = dim
        self.data = np.empty((1024, dim), dtype="float32")

    def append(self, vector):
        if self.count == len(self.data):
            grown = np.empty((2 * len(self.data), self.dim), dtype="float32")
            grown[:self.count] = self.data
            self.data = grown
        self.data[self.count] = vector
        self.count += 1

    def array(self):
        return self.data[:self.count].copy()


def _read_text(path, header):
    dim = None
    with _open(path) as f:
        for number, raw in enumerate(f, start=1):
            line = raw.decode("utf-8", errors="replace").rstrip("\n\r ")
            if not line.strip():
                continue
            fields = line.split(" ")
            if number == 1 and header:
                if len(fields) != 2 or not all(x.isdigit() for x in fields):
                    raise ValueError("Expected a word2vec header 'count dim' on line 1. "
                                     f"Received: {line[:80]!r} in {path}")
                dim = int(fields[1])
                continue
            if dim is None:
                dim = len(fields) - 1
                if dim < 1:
                    raise ValueError(f"Line {number} of {path} has no vector values. "
                                     f"Received: {line[:80]!r}")
            if len(fields) - 1 != dim:
                if len(fields) - 1 > dim and not header:  # a GloVe word with spaces
                    fields = [" ".join(fields[:len(fields) - dim])] + fields[-dim:]
                else:
                    raise ValueError(
                        f"Inconsistent dimensions in {path}: line {number} has "
                        f"{len(fields) - 1} values where the file's vectors have {dim}. "
                        f"Received: {line[:80]!r}")
            try:
                vector = np.asarray(fields[1:], dtype="float32")
            except ValueError as error:
                raise ValueError(f"Line {number} of {path} holds a value that is not a "
                                 f"number. Received: {line[:80]!r}") from error
            yield fields[0], vector


def _read_binary(path, header=True):
    with _open(path) as f:
        first = f.readline().split()
        if len(first) != 2 or not all(x.isdigit() for x in first):
            raise ValueError(f"Expected a word2vec header 'count dim' on line 1 of {path}. "
                             f"Received: {b' '.join(first)[:80]!r}")
        count, dim = int(first[0]), int(first[1])
        size = 4 * dim
        for index in range(count):
            word = bytearray()
            while True:
                char = f.read(1)
                if not char:
                    if index < count and word.strip():
                        raise ValueError(
                            f"{path} ends inside vector {index + 1} of {count}: the file "
                            f"is truncated. Received: path={path!r}")
                    return
                if char == b" ":
                    break
                if char != b"\n":
                    word += char
            data = f.read(size)
            if len(data) != size:
                raise ValueError(f"Inconsistent dimensions in {path}: vector {index + 1} "
                                 f"({word.decode('utf-8', 'replace')!r}) has "
                                 f"{len(data) // 4} values where the header says {dim}. "
                                 f"Received: path={path!r}")
            yield word.decode("utf-8", errors="replace"), np.frombuffer(data, "<f4")
