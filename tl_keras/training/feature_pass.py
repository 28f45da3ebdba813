"""One pass of a frozen extractor over data, its outputs gathered within a budget."""

import collections

import keras
import numpy as np
import tensorflow as tf

from tl_keras.log import fit_verbose
from tl_keras.training.worker_loop import predict_batch

Features = collections.namedtuple("Features", "x y sample_weight")


def compute_features(extractor, data, *, batch_size=32, verbose="auto", chunks=None):
    """One pass of `extractor` over `data`; returns `Features(x, y, sample_weight)`.

    Labels and sample weights are collected in the same pass, so they stay
    paired with their features however the dataset shuffles. `chunks` (a
    `Chunks`) decides where the features go: in memory by default.
    """
    if isinstance(data, tf.data.Dataset):
        batches = data
        count = int(data.cardinality())
    else:
        x, y = (data[0], data[1]) if isinstance(data, (tuple, list)) else (data, None)
        x = np.asarray(x)
        if x.dtype.kind in "USO":
            x = x.astype(str)
        batches = tf.data.Dataset.from_tensor_slices(
            (x,) if y is None else (x, np.asarray(y))).batch(batch_size)
        count = -(-len(x) // batch_size)
    verbose = fit_verbose(verbose)
    progress = keras.utils.Progbar(count if count > 0 else None, unit_name="batch",
                                   verbose=verbose) if verbose not in (0, False) else None
    chunks = chunks if chunks is not None else Chunks(None)
    labels, weights = [], []
    for index, batch in enumerate(batches, start=1):
        batch = batch if isinstance(batch, tuple) else (batch,)
        # Keras keeps one traced predict function per model: no retracing warnings
        # when features are computed again.
        chunks.append(predict_batch(extractor, batch[0]))
        if len(batch) > 1:
            labels.append(np.asarray(batch[1]))
        if len(batch) > 2:
            weights.append(np.asarray(batch[2]))
        if progress is not None:
            progress.update(index)
    return Features(chunks.array(),
                    np.concatenate(labels) if labels else None,
                    np.concatenate(weights) if weights else None)


class Chunks:
    """Feature batches gathered in memory until they pass half of `limit_bytes`,
    then appended to a spill file (at `spill_path()`) that is memory-mapped at
    the end. In memory, the batches are joined once at the end: at most the
    other half of the budget again. `peak_bytes` is the most held at once."""

    def __init__(self, spill_path, dtype="float32", limit_bytes=None):
        self.spill_path = spill_path
        self.dtype = dtype
        self.limit_bytes = limit_bytes
        self.parts = []
        self.file = None
        self.path = None
        self.shape = None
        self.rows = 0
        self.bytes_in_memory = 0
        self.peak_bytes = 0

    def append(self, array):
        array = np.ascontiguousarray(array, dtype=self.dtype)
        self.shape = array.shape[1:]
        self.rows += len(array)
        if self.file is None and self.limit_bytes is not None and self.spill_path and \
                self.bytes_in_memory + array.nbytes > self.limit_bytes // 2:
            self._spill()
        if self.file is not None:
            self.file.write(array.tobytes())
            return
        self.parts.append(array)
        self.bytes_in_memory += array.nbytes
        self.peak_bytes = max(self.peak_bytes, self.bytes_in_memory)

    def _spill(self):
        """Moves what is in memory to the spill file; the rest goes straight there."""
        self.path = self.spill_path()
        self.file = open(self.path, "wb")  # local: the cache's own temporary directory
        for part in self.parts:
            self.file.write(part.tobytes())
        self.parts, self.bytes_in_memory = [], 0

    def array(self):
        if self.file is None:
            if not self.parts:
                raise ValueError("No data to extract features from: the dataset yielded no "
                                 "batch. Received: an empty dataset")
            joined = np.concatenate(self.parts)
            self.peak_bytes = max(self.peak_bytes, 2 * self.bytes_in_memory)
            self.parts = []
            return joined
        self.file.close()
        return np.memmap(self.path, dtype=self.dtype, mode="r",
                         shape=(self.rows,) + tuple(self.shape))
