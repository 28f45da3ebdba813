"""Which base to transfer from: candidates scored on the target data, frozen."""

import os
import time

import keras
import numpy as np

from tl_keras.bases import exported
from tl_keras.bases import load_base
from tl_keras.bases import source_of
from tl_keras.bases.registry import is_registered
from tl_keras.data import fingerprints
from tl_keras.evaluation.scores import class_indices
from tl_keras.log import say
from tl_keras.models.build import build_model
from tl_keras.selection.transferability import SCORES
from tl_keras.training.feature_cache import default_feature_cache


def rank_bases(data, candidates, *, method="logme", input_shape=None, weights="imagenet",
               batch_size=32, feature_cache=None, verbose="auto"):
    """Scores candidate bases on labelled target data, best first, without training.

    For each candidate, one pass of its frozen features (preprocessing, base,
    pooling: what a `build_model` head would see) over `data`, then a
    transferability score of those features for the labels. The features go
    through the `FeatureCache`, so training the chosen base on the same data
    next (`fit_two_phase`) reuses them.

    Args:
        data: labelled target examples: `(images, labels)` arrays or a batched
            `tf.data.Dataset` of them (`tl_keras.image_dataset`).
        candidates: bases to compare: anything `tl_keras.load_base` takes (a
            registry name, a TF Hub handle or directory, an exported model),
            a loaded base (`keras.Model`), or `(label, base)` pairs of either.
        method: `"logme"` (LogME, You et al. 2021: the evidence of a linear
            model on the features; higher is better), `"knn"` (leave-one-out
            5-nearest-neighbour accuracy) or `"linear"` (5-fold ridge
            classifier accuracy). Defaults to `"logme"`.
        input_shape: input shape for bases loaded by name. Defaults to `None`:
            the images' shape.
        weights: weights of bases loaded by registry name. Defaults to
            `"imagenet"`.
        batch_size: batch size for array data. Defaults to `32`.
        feature_cache: a `FeatureCache`. Defaults to `None`: the process's.
        verbose: one line per candidate (`0` silences it). Defaults to `"auto"`.

    Returns:
        A list of records (dicts), best first: `name`, `score`, `method`,
        `feature_dim`, `parameters`, `seconds`, and `caution`: why the scores
        may not order the bases as trained heads would (few examples a class,
        feature sizes far apart), or None. A line says it. `format_ranking`
        prints them as a table; `tl_keras.plots.plot_ranking` draws them.

    Raises:
        ValueError: an unknown `method`, no candidates, or unlabelled data.

    Example:

    >>> ranking = tl_keras.rank_bases(  # doctest: +SKIP
    ...     (x, y), ["mobilenet_v2", "efficientnet_b0", "saved_models/flowers"])
    >>> print(tl_keras.format_ranking(ranking))  # doctest: +SKIP
    """

    if method not in SCORES:
        raise ValueError(f"Unknown method. Expected one of {list(SCORES)}. "
                         f"Received: method={method!r}")
    candidates = list(candidates)
    if not candidates:
        raise ValueError("Expected at least one candidate base. Received: candidates=[]")
    for candidate in candidates:  # every name known before the first is scored
        base = candidate[1] if isinstance(candidate, tuple) else candidate
        if isinstance(base, (str, os.PathLike)):
            source_of(base)
    shape = input_shape or _image_shape(data)
    store = feature_cache or default_feature_cache()
    fingerprint = fingerprints.fingerprint(data)
    records, labels_seen = [], None
    for candidate in candidates:
        label, base = candidate if isinstance(candidate, tuple) else (None, candidate)
        start = time.perf_counter()
        if isinstance(base, (str, os.PathLike)):
            label = label or os.fspath(base)
            # `weights` chooses a registry base's weights; the others carry their own.
            chosen = weights if is_registered(os.fspath(base)) else "imagenet"
            # An export keeps the input size it was trained at (resized to below).
            own_shape = None if exported.claims(base) else shape
            base = load_base(base, input_shape=own_shape, weights=chosen)
        label = _distinct(label or base.name, [record["name"] for record in records])
        extractor = _at_size(build_model(base, num_classes=2, dropout=0.0).feature_model(),
                             shape)
        features, _ = store.features(extractor, data, fingerprint=fingerprint,
                                     batch_size=batch_size, verbose=0)
        if features.y is None:
            raise ValueError("Expected labelled data: (images, labels). Received: data "
                             "without labels")
        score = SCORES[method](features.x.reshape(len(features.x), -1), features.y)
        labels_seen = features.y
        records.append({"name": label, "score": score, "method": method,
                        "feature_dim": int(np.prod(features.x.shape[1:])),
                        "parameters": int(base.count_params()),
                        "seconds": time.perf_counter() - start})
        say(f"{label}: {method} {score:.4f} ({records[-1]['seconds']:.1f} s)", verbose)
    caution = _caution(records, labels_seen, method)
    if caution:
        say(f"Ranking caution: {caution}. The order may not be the trained heads' "
            "(train the top two with fit_two_phase to choose).", verbose)
    for record in records:
        record["caution"] = caution
    return sorted(records, key=lambda record: record["score"], reverse=True)


FEW_PER_CLASS = 30  # below this, the estimates of a linear fit are noisy
FEATURE_SIZE_RATIO = 4  # LogME and the linear probe favour the wider features beyond it


def _caution(records, labels, method):
    """Why these scores may mislead, in words, or None."""
    reasons = []
    counts = np.bincount(class_indices(labels)) if labels is not None else []
    smallest = int(min(c for c in counts if c)) if len(counts) else 0
    if len(counts) and smallest < FEW_PER_CLASS:
        reasons.append(f"{smallest} examples in the smallest class (under {FEW_PER_CLASS})")
    dims = [record["feature_dim"] for record in records]
    if method != "knn" and len(dims) > 1 and max(dims) > FEATURE_SIZE_RATIO * min(dims):
        reasons.append(f"feature sizes from {min(dims)} to {max(dims)}, which {method} "
                       "scores unevenly (knn does not)")
    return "; ".join(reasons) or None


def _at_size(extractor, shape):
    """`extractor` taking images of `shape`: resized first to the candidate's own
    fixed size when it has one that differs (each candidate at its own size)."""
    own = tuple(extractor.input_shape[1:3])
    if None in own or own == tuple(shape[:2]):
        return extractor
    inputs = keras.Input(tuple(shape))
    resized = keras.layers.Resizing(*own, name="to_candidate_size")(inputs)
    return keras.Model(inputs, extractor(resized), name=f"{extractor.name}_resized")


def _distinct(label, taken):
    """`label`, or `label (2)`, `label (3)`... when an earlier candidate has it (two
    loaded bases of one architecture share its name)."""
    count, distinct = 1, label
    while distinct in taken:
        count += 1
        distinct = f"{label} ({count})"
    return distinct


def format_ranking(records):
    """The records of `rank_bases` as a plain-text table, best first.

    Args:
        records: what `tl_keras.rank_bases` returned.

    Returns:
        A string: a header row, then one row per base (rank, name, score,
        feature size, parameters, seconds).
    """
    rows = [("rank", "base", records[0]["method"] if records else "score", "features",
             "parameters", "seconds")]
    rows += [(str(i), r["name"], f"{r['score']:.4f}", str(r["feature_dim"]),
              f"{r['parameters']:,}", f"{r['seconds']:.1f}")
             for i, r in enumerate(records, start=1)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    table = "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                      for row in rows)
    caution = records[0].get("caution") if records else None
    return table + (f"\nCaution: {caution}." if caution else "")


def _image_shape(data):
    import tensorflow as tf

    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec[0]
        return tuple(spec.shape[1:])
    return tuple(np.asarray(data[0]).shape[1:])
