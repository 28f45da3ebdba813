"""Features of a frozen base: extraction, and the phase-1 feature cache.

While the base is frozen and nothing random sits in front of it, its output
for an image never changes, so phase 1 computes the pooled features once and
trains the head on them (the "bottlenecks" of TF's old `retrain.py`), instead
of running the base again every epoch.
"""

import collections
import hashlib
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tl_keras.bases import base_info
from tl_keras.preprocessing import Preprocessing

# Features kept in memory up to this many bytes; larger go to a file on disk.
MEMORY_LIMIT_BYTES = 2 * 1024 ** 3
_MAX_CACHED_SETS = 4

Features = collections.namedtuple("Features", "x y sample_weight")
FINGERPRINT_ATTR = "_tl_keras_fingerprint"

_cache = collections.OrderedDict()
_stats = {"hits": 0, "misses": 0}


def cache_info():
    """Returns `{"hits": int, "misses": int, "entries": int}` of the feature cache."""
    return dict(_stats, entries=len(_cache))


def clear_feature_cache():
    """Empties the in-process feature cache and resets its counters."""
    _cache.clear()
    _stats.update(hits=0, misses=0)


# === Extractors ===

def feature_extractor(model_or_base, *, pooling="avg"):
    """Returns a `keras.Model` from raw [0, 255] pixels to pooled features.

    Args:
        model_or_base: a model from `tl_keras.build_model` (features are the
            output of its `pooling` layer), or a base from `tl_keras.load_base`
            (its preprocessing is put in front, and a feature map is pooled).
        pooling: `"avg"` or `"max"`, for a base that outputs a feature map.
            Defaults to `"avg"`.
    """
    names = {layer.name for layer in model_or_base.layers}
    if "pooling" in names and "predictions" in names:
        return keras.Model(model_or_base.inputs,
                           model_or_base.get_layer("pooling").output,
                           name=f"{model_or_base.name}_features")
    if pooling not in ("avg", "max"):
        raise ValueError(f"Expected `pooling` in ('avg', 'max'). Received: pooling={pooling!r}")
    info = base_info(model_or_base) or {"preprocessing": "none"}
    inputs = keras.Input(model_or_base.input_shape[1:], name="images")
    x = Preprocessing(info["preprocessing"], name="preprocessing")(inputs)
    x = model_or_base(x, training=False)
    if len(x.shape) == 4:
        pool = (keras.layers.GlobalAveragePooling2D if pooling == "avg"
                else keras.layers.GlobalMaxPooling2D)
        x = pool(name="pooling")(x)
    return keras.Model(inputs, x, name=f"{model_or_base.name}_features")


def extract_features(model_or_base, data, *, batch_size=32, pooling="avg", output=None,
                     verbose="auto"):
    """Computes the frozen base's pooled features, for a model of your own.

    Args:
        model_or_base: a model from `tl_keras.build_model` or a base from
            `tl_keras.load_base` (see `feature_extractor`).
        data: images `[n, h, w, 3]` in [0, 255], a tuple `(x, y)`, or a
            batched `tf.data.Dataset` of images or `(images, labels)`.
        batch_size: for array inputs. Defaults to `32`.
        pooling: for a base that outputs a feature map. Defaults to `"avg"`.
        output: a `.npz` path to also write `features` (and `labels`) to.
            Defaults to `None`.
        verbose: show a progress bar (`0` hides it). Defaults to `"auto"`.

    Returns:
        `features` (float32 `[n, d]`), or `(features, labels)` when `data`
        carries labels.

    Example:

    >>> features, labels = tl_keras.extract_features(model, train)
    >>> sklearn.linear_model.LogisticRegression().fit(features, labels)
    """
    extractor = feature_extractor(model_or_base, pooling=pooling)
    features = compute_features(extractor, data, batch_size=batch_size, verbose=verbose)
    if output is not None:
        arrays = {"features": features.x}
        if features.y is not None:
            arrays["labels"] = features.y
        np.savez(output, **arrays)
    return features.x if features.y is None else (features.x, features.y)


def compute_features(extractor, data, *, batch_size=32, verbose="auto", to_disk=None):
    """One pass of `extractor` over `data`; returns `Features(x, y, sample_weight)`.

    Labels and sample weights are collected in the same pass, so they stay
    paired with their features however the dataset shuffles.
    """
    if isinstance(data, tf.data.Dataset):
        batches = data
        count = int(data.cardinality())
    else:
        x, y = (data[0], data[1]) if isinstance(data, (tuple, list)) else (data, None)
        x = np.asarray(x)
        batches = tf.data.Dataset.from_tensor_slices(
            (x,) if y is None else (x, np.asarray(y))).batch(batch_size)
        count = -(-len(x) // batch_size)
    step = tf.function(lambda images: extractor(images, training=False),
                       reduce_retracing=True)
    progress = keras.utils.Progbar(count if count > 0 else None, unit_name="batch") \
        if verbose != 0 else None
    chunks, labels, weights = _Chunks(to_disk), [], []
    for index, batch in enumerate(batches, start=1):
        batch = batch if isinstance(batch, tuple) else (batch,)
        chunks.append(step(batch[0]).numpy())
        if len(batch) > 1:
            labels.append(np.asarray(batch[1]))
        if len(batch) > 2:
            weights.append(np.asarray(batch[2]))
        if progress is not None:
            progress.update(index)
    return Features(chunks.array(),
                    np.concatenate(labels) if labels else None,
                    np.concatenate(weights) if weights else None)


class _Chunks:
    """Feature batches gathered in memory, or appended to a file then memory-mapped."""

    def __init__(self, path):
        self.path = path
        self.parts = []
        self.file = open(path, "wb") if path else None
        self.shape = None
        self.rows = 0

    def append(self, array):
        array = np.ascontiguousarray(array, dtype="float32")
        self.shape = array.shape[1:]
        self.rows += len(array)
        if self.file:
            self.file.write(array.tobytes())
        else:
            self.parts.append(array)

    def array(self):
        if self.file is None:
            if not self.parts:
                raise ValueError("No data to extract features from: the dataset yielded no "
                                 "batch. Received: an empty dataset")
            return np.concatenate(self.parts)
        self.file.close()
        return np.memmap(self.path, dtype="float32", mode="r",
                         shape=(self.rows,) + tuple(self.shape))


# === The phase-1 cache ===

def split_head(model):
    """Returns `(extractor, head)` for a model whose head is a chain after its
    `pooling` layer, or `(None, reason)` when the cache cannot be used."""
    names = [layer.name for layer in model.layers]
    if "pooling" not in names:
        return None, "the model has no layer named 'pooling'"
    index = names.index("pooling")
    before = model.layers[:index]
    if any(layer.name == "augmentation" for layer in before):
        return None, ("augmentation sits in front of the base (the features would "
                      "differ every epoch)")
    trainable = [layer.name for layer in before if layer.trainable_weights]
    if trainable:
        return None, (f"layers before 'pooling' have trainable weights ({trainable[0]}), "
                      "so their output is not fixed")
    pooling = model.layers[index]
    if pooling.trainable_weights:
        return None, f"the 'pooling' layer itself has trainable weights ({pooling.name})"
    inputs = keras.Input(pooling.output.shape[1:], name="features")
    x, previous = inputs, pooling
    for layer in model.layers[index + 1:]:
        node_inputs = keras.tree.flatten(layer._inbound_nodes[0].input_tensors)
        if len(node_inputs) != 1 or node_inputs[0] is not previous.output:
            return None, "the head is not a simple chain of layers after 'pooling'"
        x = layer(x)
        previous = layer
    extractor = keras.Model(model.inputs, pooling.output, name=f"{model.name}_features")
    return (extractor, keras.Model(inputs, x, name=f"{model.name}_head")), None


def cached_features(extractor, data, *, batch_size, cache_dir=None, verbose="auto"):
    """Features of `data`, from the in-process cache when the same extractor
    weights and data were seen before, else computed once (and kept)."""
    key = _cache_key(extractor, data)
    if key is not None and key in _cache:
        _stats["hits"] += 1
        _cache.move_to_end(key)
        return _cache[key], True
    _stats["misses"] += 1
    to_disk = None
    if _estimated_bytes(extractor, data, batch_size) > MEMORY_LIMIT_BYTES:
        directory = cache_dir or os.path.join(tempfile.gettempdir(), "tl_keras_features")
        os.makedirs(directory, exist_ok=True)
        to_disk = os.path.join(directory, f"{key or os.urandom(8).hex()}.f32")
    features = compute_features(extractor, data, batch_size=batch_size, verbose=verbose,
                                to_disk=to_disk)
    if key is not None:
        _cache[key] = features
        while len(_cache) > _MAX_CACHED_SETS:
            _cache.popitem(last=False)
    return features, False


def _estimated_bytes(extractor, data, batch_size):
    dim = int(np.prod(extractor.output_shape[1:]))
    if isinstance(data, tf.data.Dataset):
        batches = int(data.cardinality())
        if batches <= 0:
            return 0
        return batches * _dataset_batch_size(data, batch_size) * dim * 4
    return len(data[0]) * dim * 4


def _dataset_batch_size(dataset, default):
    size = dataset.element_spec[0].shape[0] if isinstance(dataset.element_spec, tuple) \
        else dataset.element_spec.shape[0]
    return int(size) if size is not None else default


def head_batch_size(data, batch_size):
    """The batch size that gives the head the same steps per epoch as the data."""
    if not isinstance(data, tf.data.Dataset):
        return batch_size
    size = _dataset_batch_size(data, None)
    if size is not None:
        return size
    for batch in data.take(1):
        return int(tf.shape(batch[0])[0])
    return batch_size


def _cache_key(extractor, data):
    """A hash of the extractor's weights and configuration and of the data, or
    None when the data cannot be fingerprinted (then nothing is reused)."""
    digest = hashlib.sha1()
    # What the features depend on, not what the layers are called: a model
    # built again with the same weights (a notebook cell run twice) hits.
    for layer in _leaves(extractor):
        digest.update(type(layer).__name__.encode())
        digest.update(str(getattr(layer, "mode", "")).encode())
        for variable in layer.weights:
            value = np.ascontiguousarray(variable.numpy())
            digest.update(str(value.shape).encode())
            digest.update(value.tobytes())
    digest.update(str(extractor.input_shape).encode())
    fingerprint = data_fingerprint(data)
    if fingerprint is None:
        return None
    digest.update(fingerprint)
    return digest.hexdigest()


def _leaves(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaves(layer)
        else:
            yield layer


def data_fingerprint(data):
    """Bytes that change when the data change, or None when unknown.

    Arrays: their contents. Datasets made by `tl_keras.image_dataset`: the
    fingerprint it attached (each file's path, size and modification time, or
    the arrays or TFDS split, and the pipeline's settings). Other datasets have
    none, so their features are computed again by each call.
    """
    if isinstance(data, tf.data.Dataset):
        return getattr(data, FINGERPRINT_ATTR, None)
    digest = hashlib.sha1()
    for array in data[:3]:
        array = np.ascontiguousarray(array)
        digest.update(str((array.shape, array.dtype)).encode())
        digest.update(array.tobytes())
    return digest.digest()
