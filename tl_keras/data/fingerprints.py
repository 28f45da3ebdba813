"""What identifies a dataset's contents, so features computed once can be reused.

`image_dataset` registers each pipeline it returns with what made it (each
file's path, size and modification time, or the arrays' contents, or the
TFDS split, and the pipeline's settings). The record lives here, keyed
weakly by the dataset, never as an attribute on the dataset; `fingerprint`
answers for arrays (their contents), registered datasets, or None.
"""

import hashlib
import weakref

import numpy as np
import tensorflow as tf

_REGISTERED = weakref.WeakKeyDictionary()
_LABELS = weakref.WeakKeyDictionary()
_CLASS_NAMES = weakref.WeakKeyDictionary()


def register(dataset, *identity, labels=None):
    """Records what identifies `dataset` (and, when known, its labels: class
    indices, for the card's counts); returns the dataset."""
    _REGISTERED[dataset] = hashlib.sha1(repr(identity).encode("utf-8")).digest()
    if labels is not None:
        _LABELS[dataset] = np.bincount(np.asarray(labels, dtype="int64")) if len(
            labels) else np.zeros(0, "int64")
    return dataset


def remember_class_names(dataset, class_names):
    """Records the classes a tl_keras dataset was read with (kept here, weakly,
    never on the dataset), so training can check them against the model."""
    if isinstance(dataset, tf.data.Dataset) and class_names:
        _CLASS_NAMES[dataset] = list(class_names)
    return dataset


def known_class_names(dataset):
    """The class names `dataset` was read with (a tl_keras dataset), or None."""
    if isinstance(dataset, tf.data.Dataset):
        return _CLASS_NAMES.get(dataset)
    return None


def data_card(data, class_names=None):
    """What a model card says of a dataset: `{"fingerprint", "examples",
    "per_class"}` (None where unknown: a TFRecord or TFDS pipeline's counts).

    Example:

    >>> sorted(tl_keras.data.fingerprints.data_card(val, class_names))
    ['examples', 'fingerprint', 'per_class']
    """
    digest = fingerprint(data)
    if isinstance(data, tf.data.Dataset):
        counts = _LABELS.get(data)
    else:
        y = np.asarray(data[1]) if isinstance(data, (tuple, list)) and len(data) > 1 else None
        if y is not None and y.ndim == 2 and y.shape[1] > 1:
            y = y.argmax(axis=1)
        counts = np.bincount(y.reshape(-1).astype("int64")) if y is not None else None
    per_class = None
    if counts is not None:
        names = list(class_names or [str(i) for i in range(len(counts))])
        counts = list(counts) + [0] * (len(names) - len(counts))
        per_class = {name: int(count) for name, count in zip(names, counts)}
    return {"fingerprint": digest.hex() if digest is not None else None,
            "examples": int(sum(per_class.values())) if per_class is not None else None,
            "per_class": per_class}


def fingerprint(data):
    """Bytes that change when the data change, or None when unknown.

    Arrays (`x`, `(x, y)`, `(x, y, sample_weight)`): their contents. A dataset
    from `tl_keras.image_dataset`: what it was registered with. Other datasets
    have none, so their features are computed again by each call.
    """
    if isinstance(data, tf.data.Dataset):
        return _REGISTERED.get(data)
    parts = data[:3] if isinstance(data, (tuple, list)) else (data,)
    digest = hashlib.sha1()
    for array in parts:
        if array is None:
            continue
        array = np.asarray(array)
        if array.dtype.kind == "O":  # strings as objects: hash the text, not pointers
            array = array.astype(str)
        array = np.ascontiguousarray(array)
        digest.update(str((array.shape, array.dtype)).encode())
        digest.update(array.tobytes())
    return digest.digest()
