"""Embeddings: a frozen base's feature vectors with the ids of their items.

An `Embeddings` is what every function of `tl_keras.unlabelled` works on:
plain arrays (`vectors`, `[n, d]` float32), the items' `ids` aligned with
them (file paths for folders, row numbers for arrays, the texts for text),
the class of each item where its data had classes (`labels`, -1 where not,
with `class_names`), and the identity of the base that computed them
(`base`: its name, source, handle and lineage, as a model card has it).
`save` and `Embeddings.load` go through `tf.io.gfile` (gs://, ram://).
"""

import io
import json

import numpy as np
import tensorflow as tf

_FORMAT = "tl_keras.embeddings/1"


class Embeddings:
    """Feature vectors of a collection, with the ids of its items.

    Args:
        vectors: array `[n, d]` (kept as float32).
        ids: `n` ids, one per vector: strings or integers.
        labels: `None`, or `n` class indices (-1 where an item has none).
            Defaults to `None`.
        class_names: the names of the classes `labels` index. Defaults to
            `None`.
        base: the identity of the base that computed the vectors (a dict).
            Defaults to `None`.

    Example:

    >>> emb = tl_keras.Embeddings(np.eye(3), ids=["a.jpg", "b.jpg", "c.jpg"])
    >>> len(emb), emb.dimension
    (3, 3)
    """

    def __init__(self, vectors, ids, labels=None, class_names=None, base=None):
        vectors = np.asarray(vectors, dtype="float32")
        if vectors.ndim != 2 or not len(vectors):
            raise ValueError("Expected embeddings as a non-empty 2-D array [items, "
                             f"dimension]. Received: vectors of shape {vectors.shape}")
        ids = [_plain(i) for i in ids]
        if len(ids) != len(vectors):
            raise ValueError(f"Expected one id per vector ({len(vectors)}). Received: "
                             f"{len(ids)} ids")
        if labels is not None:
            labels = np.asarray(labels, dtype="int64").reshape(-1)
            if len(labels) != len(vectors):
                raise ValueError(f"Expected one label per vector ({len(vectors)}). "
                                 f"Received: {len(labels)} labels")
        if not np.all(np.isfinite(vectors)):
            bad = int(np.sum(~np.all(np.isfinite(vectors), axis=1)))
            raise ValueError(f"Expected finite embeddings. Received: {bad} vectors with "
                             "NaN or infinite values")
        self.vectors = vectors
        self.ids = ids
        self.labels = labels
        self.class_names = list(class_names) if class_names is not None else None
        self.base = dict(base) if base is not None else None

    def __len__(self):
        return len(self.vectors)

    @property
    def dimension(self):
        return int(self.vectors.shape[1])

    def __repr__(self):
        name = (self.base or {}).get("name")
        of = f", base={name!r}" if name else ""
        return f"<Embeddings: {len(self)} items, dimension {self.dimension}{of}>"

    def label_names(self):
        """Each item's class name (None where it has none)."""
        if self.labels is None or self.class_names is None:
            return [None] * len(self)
        return [self.class_names[i] if i >= 0 else None for i in self.labels]

    def subset(self, indices):
        """The embeddings of the items at `indices` (an array of positions)."""
        indices = np.asarray(indices, dtype="int64")
        return Embeddings(self.vectors[indices], [self.ids[i] for i in indices],
                          None if self.labels is None else self.labels[indices],
                          self.class_names, self.base)

    # === Saving ===

    def save(self, path):
        """Writes the embeddings to `path` (a `.npz`, any `tf.io.gfile` path)."""
        meta = {"format": _FORMAT, "ids": self.ids, "class_names": self.class_names,
                "base": self.base}
        arrays = {"vectors": self.vectors, "meta": np.array(json.dumps(meta))}
        if self.labels is not None:
            arrays["labels"] = self.labels
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        with tf.io.gfile.GFile(str(path), "wb") as f:
            f.write(buffer.getvalue())

    @classmethod
    def load(cls, path):
        """Reads embeddings written by `save`."""
        path = str(path)
        if not tf.io.gfile.exists(path):
            raise FileNotFoundError(f"No embeddings file at {path}. Received: path={path!r}")
        with tf.io.gfile.GFile(path, "rb") as f:
            data = np.load(io.BytesIO(f.read()), allow_pickle=False)
            if "meta" not in data.files:
                raise ValueError("Expected a file written by Embeddings.save. "
                                 f"Received: path={path!r} (no metadata)")
            meta = json.loads(str(data["meta"]))
            labels = data["labels"] if "labels" in data.files else None
            return cls(data["vectors"], meta["ids"], labels, meta["class_names"],
                       meta["base"])


def _plain(value):
    """An id as a plain Python value (NumPy scalars become int or str)."""
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value) if not isinstance(value, str) else value
