"""The phase-1 feature cache: a frozen base's features, computed once.

While the base is frozen and nothing random sits in front of it, its output
for an input never changes, so phase 1 computes the feature vectors once and
trains the head on them (the "bottlenecks" of TF's old `retrain.py`).

A `FeatureCache` is an object with an owner: `fit_two_phase` takes one
(`caching=tl_keras.Caching(store=...)`), or uses the process's default
(`default_feature_cache()`, emptied when `fit_two_phase` returns, so no
gigabytes stay behind a finished run); a cache of the caller's own is kept,
and later calls on the same data and base weights reuse it. It is bounded (a
number of entries and bytes in memory); feature sets larger than its memory
budget go to spill files in a directory it owns and removes on `clear()`,
`close()` or at exit.
"""

import collections
import hashlib
import json
import os
import shutil
import tempfile
import weakref

import keras
import numpy as np
import tensorflow as tf

from tl_keras.training.feature_pass import Chunks
from tl_keras.training.feature_pass import Features  # noqa: F401 (its home, for callers)
from tl_keras.training.feature_pass import compute_features  # noqa: F401


class FeatureCache:
    """Feature sets of frozen extractors, kept for reuse, bounded.

    Args:
        max_entries: feature sets kept; the least recently used goes first.
            Defaults to `4`.
        memory_limit_bytes: the most memory one feature set takes while it is
            computed, whatever the data's size (a pipeline of unknown length
            too): features are counted as they come, and past half this
            budget they move to a spill file that is memory-mapped, so
            joining the batches at the end never doubles more than half the
            budget. Defaults to 2 GiB.
        directory: where spill files go. Defaults to `None`: a temporary
            directory created when first needed and removed with the cache.
        storage_dtype: `"float32"`, or `"float16"`: half the memory (twice
            the examples before spilling to disk); training reads them back as
            float32. Defaults to `"float32"`.

    Example:

    >>> with tl_keras.FeatureCache() as cache:
    ...     for rate in (1e-3, 3e-3):  # the base runs once, not once per rate
    ...         history = tl_keras.fit_two_phase(
    ...             model, train, val, epochs=2, fine_tune_epochs=0, learning_rate=rate,
    ...             caching=tl_keras.Caching(store=cache), verbose=0)
    """

    def __init__(self, max_entries=4, memory_limit_bytes=2 * 1024 ** 3, directory=None,
                 storage_dtype="float32"):
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) \
                or max_entries < 0:
            raise ValueError("Expected `max_entries` to be an integer >= 0. "
                             f"Received: max_entries={max_entries!r}")
        if storage_dtype not in ("float32", "float16"):
            raise ValueError("Expected `storage_dtype` to be 'float32' or 'float16'. "
                             f"Received: storage_dtype={storage_dtype!r}")
        self.storage_dtype = storage_dtype
        self.max_entries = max_entries
        self.memory_limit_bytes = memory_limit_bytes
        self._directory = directory
        self._owned_directory = None  # (path, finalizer) of the directory it made
        self._entries = collections.OrderedDict()
        self.hits = 0
        self.misses = 0
        self.peak_bytes_in_memory = 0  # the most one computation held at once

    # === Lookup ===

    def features(self, extractor, data, *, fingerprint, batch_size=32, verbose="auto"):
        """Features of `data`: reused when the same extractor weights and data
        (by `fingerprint`, bytes or None) were seen, else computed and kept.

        Returns:
            `(Features, hit)`.
        """
        key = _cache_key(extractor, fingerprint)
        if key is not None and key in self._entries:
            self.hits += 1
            self._entries.move_to_end(key)
            return self._entries[key], True
        self.misses += 1
        name = f"{key or os.urandom(8).hex()}.bin"
        chunks = Chunks(lambda: os.path.join(self._spill_directory(), name),
                         self.storage_dtype, self.memory_limit_bytes)
        features = compute_features(extractor, data, batch_size=batch_size,
                                    verbose=verbose, chunks=chunks)
        self.peak_bytes_in_memory = max(self.peak_bytes_in_memory, chunks.peak_bytes)
        if key is not None and self.max_entries:
            self._entries[key] = features
            while len(self._entries) > self.max_entries:
                _, evicted = self._entries.popitem(last=False)
                _release(evicted)
        return features, False

    def info(self):
        """`{"hits", "misses", "entries", "bytes_in_memory", "spill_files",
        "peak_bytes_in_memory"}`: the last, the most feature bytes one computation
        held in memory at once (the budget bounds it)."""
        in_memory = sum(f.x.nbytes for f in self._entries.values()
                        if not isinstance(f.x, np.memmap))
        spilled = sum(1 for f in self._entries.values() if isinstance(f.x, np.memmap))
        return {"hits": self.hits, "misses": self.misses, "entries": len(self._entries),
                "bytes_in_memory": int(in_memory), "spill_files": spilled,
                "peak_bytes_in_memory": int(self.peak_bytes_in_memory)}

    @property
    def spill_directory(self):
        """Where spill files go: the given directory, the one this cache made, or
        None when it has made none."""
        if self._directory is not None:
            return self._directory
        return self._owned_directory[0] if self._owned_directory else None

    # === Cleanup ===

    def clear(self):
        """Drops every feature set, removes the spill files, resets the counters."""
        for features in self._entries.values():
            _release(features)
        self._entries.clear()
        self.hits = self.misses = self.peak_bytes_in_memory = 0
        if self._owned_directory is not None:
            self._owned_directory[1]()  # the finalizer: removes the directory once
            self._owned_directory = None

    close = clear

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.clear()

    def _spill_directory(self):
        if self._directory is not None:
            os.makedirs(self._directory, exist_ok=True)  # local: memory-mapped spill files
            return self._directory
        if self._owned_directory is None:
            path = tempfile.mkdtemp(prefix="tl_keras_features_")
            finalizer = weakref.finalize(self, shutil.rmtree, path, True)  # local: its temp dir
            self._owned_directory = (path, finalizer)
        return self._owned_directory[0]


def _release(features):
    if isinstance(features.x, np.memmap):
        path = features.x.filename
        del features
        try:
            os.remove(path)  # local: a spill file
        except OSError:
            pass


_DEFAULT = []


def default_feature_cache():
    """The process's feature cache, which `fit_two_phase` uses unless given one
    (created on first use; `default_feature_cache().clear()` empties it).
    `fit_two_phase` empties it when it returns: pass a `FeatureCache` of your own
    (`tl_keras.Caching(store=...)`) to keep features between calls."""
    if not _DEFAULT:
        _DEFAULT.append(FeatureCache())
    return _DEFAULT[0]


def _dataset_batch_size(dataset, default):
    spec = dataset.element_spec
    size = (spec[0] if isinstance(spec, tuple) else spec).shape[0]
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


def _cache_key(extractor, fingerprint):
    """A hash of the extractor's weights and configuration and of the data's
    fingerprint, or None when the data have none (then nothing is reused)."""
    if fingerprint is None:
        return None
    digest = hashlib.sha1()
    # What the features depend on, not what the layers are called: a model
    # built again with the same weights (a notebook cell run twice) hits.
    for layer in _leaves(extractor):
        digest.update(type(layer).__name__.encode())
        digest.update(_configuration(layer).encode())
        if hasattr(layer, "get_vocabulary"):  # a vocabulary is a table, not weights
            digest.update("\n".join(map(str, layer.get_vocabulary())).encode())
        for variable in layer.weights:
            value = np.ascontiguousarray(variable.numpy())
            digest.update(str(value.shape).encode())
            digest.update(value.tobytes())
    digest.update(str(extractor.input_shape).encode())
    digest.update(fingerprint)
    return digest.hexdigest()


def _configuration(layer):
    """The layer's configuration without its name, as text: what it computes
    beyond its weights (a `Rescaling` scale, a `HubLayer`'s `output_key`)."""
    try:
        config = dict(layer.get_config())
    except (NotImplementedError, TypeError, ValueError):
        return str(getattr(layer, "mode", ""))
    for key in ("name", "trainable"):  # neither changes what the layer computes
        config.pop(key, None)
    return json.dumps(config, sort_keys=True, default=str)


def _leaves(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaves(layer)
        else:
            yield layer
