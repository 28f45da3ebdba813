"""The tail every image pipeline shares: shuffle, parallel decode, the cache of
decoded images, batch, prefetch."""

import os

import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE
_SHUFFLE_BUFFER_AFTER_CACHE = 4096


def cache_for(cache, part):
    """`finish`'s `cache` for one part: a file prefix per part, or a flag."""
    if isinstance(cache, (str, os.PathLike)) and not isinstance(cache, bool):
        return f"{os.fspath(cache)}_{part}"
    return bool(cache)


def finish(ds, load, count, *, batch_size, seed, shuffle, cache, after_read=None):
    """Shuffle, parallel decode, cache of decoded images, batch, prefetch.

    `after_read` takes the decoded elements (files that failed to read are
    already dropped) and returns them, e.g. counted.
    """
    if shuffle and not cache:
        ds = ds.shuffle(max(count, 1), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(load, num_parallel_calls=AUTOTUNE)
    ds = ds.ignore_errors()  # a file that changed after the scan never crashes an epoch
    if after_read is not None:
        ds = after_read(ds)
    if cache:
        ds = ds.map(lambda x, y: (tf.cast(tf.round(x), tf.uint8), y))  # 4x smaller
        ds = ds.cache(cache if isinstance(cache, str) else "")
        if shuffle:
            ds = ds.shuffle(min(max(count, 1), _SHUFFLE_BUFFER_AFTER_CACHE), seed=seed,
                            reshuffle_each_iteration=True)
        ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=AUTOTUNE)
    return ds.batch(batch_size).prefetch(AUTOTUNE)
