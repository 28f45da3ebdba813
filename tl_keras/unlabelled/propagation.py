"""A few labels, spread to a whole collection: `propagate_labels`."""

import dataclasses

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.semi_supervised import LabelSpreading

from tl_keras.log import say
from tl_keras.unlabelled.clusters import cluster
from tl_keras.unlabelled.embed import as_embeddings
from tl_keras.unlabelled.embeddings import Embeddings
from tl_keras.unlabelled.neighbours import normalized

METHODS = ("ensemble", "head", "spreading", "clusters")
FOLDS = 5
# The ensemble gives way to the head alone only when it is clearly worse on the
# held-out known labels (clusters that do not follow the classes at all).
FALLBACK_MARGIN = 0.1


@dataclasses.dataclass
class PropagationReport:
    """What `propagate_labels` gave.

    Attributes:
        labels: a class index for every item (`[n]`), the known ones kept.
        confidence: the chosen method's probability for that class (`[n]`; 1.0
            for the known items).
        method: the method used: `"ensemble"`, `"head"`, `"spreading"` or
            `"clusters"`.
        scores: each method's accuracy on the known labels it did not see
            (cross-validated; with `method="auto"`).
        ids: the items' ids, aligned with `labels`.
    """

    labels: np.ndarray
    confidence: np.ndarray
    method: str
    scores: dict
    ids: list

    def summary(self):
        scores = ", ".join(f"{m} {s:.3f}" for m, s in self.scores.items())
        return (f"Labels spread to {len(self.labels)} items by {self.method!r} (accuracy "
                f"on held-out known labels: {scores}).")


def propagate_labels(data_or_embeddings, labels, *, method="auto", seed=0, base=None,
                     verbose="auto", **embed_options):
    """Gives every item a label from labels for a few of them.

    Three methods, on the cosine geometry of the features:

    - `"head"`: a logistic regression trained on the known items alone (what a
      user would do without the unlabelled ones);
    - `"spreading"`: label spreading on the 10-nearest-neighbour graph (Zhou et
      al., 2004): labels flow along dense regions;
    - `"clusters"`: `tl_keras.cluster` with one cluster per class, each named
      by the majority of its known labels, then a logistic regression trained
      on every item with those names (so a cluster's edges follow the data).

    - `"ensemble"`: the mean of the three's probabilities.

    `method="auto"` uses the ensemble, and checks it by cross-validation on
    the known labels (5 folds, stratified; fewer when a class has fewer known
    items): each method sees the other folds' labels and is scored on the
    held-out fold. If the ensemble scores more than 0.1 below the head alone,
    the head is used. (With 10 labels a class, the folds' scores are too noisy
    to pick the best of close methods: measured on the real cats and dogs in
    `benchmarks/unlabelled.py`, picking by them lost to the head alone in one
    seed of three, while the ensemble was at least as good as the head in
    every seed.)

    Args:
        data_or_embeddings: `Embeddings`, a `.npz` they were saved to, or data
            as `tl_keras.embed` takes it.
        labels: an array aligned with the items: a class index (0, 1, ...) where
            known, -1 where not.
        method: `"auto"` or one of `METHODS`. Defaults to `"auto"`.
        seed: for the folds and k-means. Defaults to `0`.
        base: for data: anything `tl_keras.embed` takes. Defaults to `None`.
        verbose: one line (`0` hides it). Defaults to `"auto"`.
        **embed_options: for data, as `tl_keras.embed` takes them.

    Returns:
        A `PropagationReport` (`labels`, `confidence`, `method`, `scores`).

    Example:

    >>> emb = tl_keras.embed(model, "flower_photos", verbose=0)
    >>> few = np.full(len(emb), -1)
    >>> few[[0, 1, 5, 6, 10, 11]] = [0, 0, 1, 1, 2, 2]
    >>> report = tl_keras.propagate_labels(emb, few, verbose=0)
    >>> report.labels.shape, report.method in ("ensemble", "head")
    ((15,), True)
    """
    if method != "auto" and method not in METHODS:
        raise ValueError(f"Unknown method. Expected 'auto' or one of {METHODS}. "
                         f"Received: method={method!r}")
    emb = as_embeddings(data_or_embeddings, base=base, verbose=verbose, **embed_options)
    known = _checked_labels(labels, len(emb))
    vectors = normalized(emb.vectors)
    scores = {}
    if method == "auto":
        scores = _cross_validated(vectors, known, seed)
        method = "head" if scores["ensemble"] < scores["head"] - FALLBACK_MARGIN \
            else "ensemble"
    probabilities = _METHODS[method](vectors, known, seed)
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    given = known >= 0
    predicted[given], confidence[given] = known[given], 1.0
    report = PropagationReport(predicted, confidence, method, scores, list(emb.ids))
    say(report.summary() if scores else f"Labels spread to {len(emb)} items by "
        f"{method!r}.", verbose)
    return report


def _checked_labels(labels, count):
    labels = np.asarray(labels)
    if labels.shape != (count,) or labels.dtype.kind not in "iu":
        raise ValueError(f"Expected `labels` as {count} integers aligned with the items, "
                         f"-1 where unknown. Received: labels of shape {labels.shape} and "
                         f"dtype {labels.dtype}")
    known = labels[labels >= 0]
    classes = np.unique(known)
    if len(classes) < 2 or not np.array_equal(classes, np.arange(len(classes))):
        raise ValueError("Expected known labels of at least two classes, numbered 0, 1, ... "
                         f"Received: classes {classes.tolist()} among {len(known)} known items")
    if labels.min() < -1:
        raise ValueError(f"Expected -1 for unknown. Received: {labels.min()} in labels")
    return labels.astype("int64")


def _cross_validated(vectors, known, seed):
    """Each method's accuracy on known labels it was not given."""
    positions = np.flatnonzero(known >= 0)
    folds = min(FOLDS, int(np.bincount(known[positions]).min()))
    if folds < 2:
        raise ValueError("Expected at least 2 known items of each class to choose a method "
                         "(or pass method=). Received: "
                         f"{np.bincount(known[positions]).tolist()} known items a class")
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    correct = {m: 0 for m in METHODS}
    for given, held in splitter.split(positions, known[positions]):
        masked = np.full_like(known, -1)
        masked[positions[given]] = known[positions[given]]
        probabilities = _each_method(vectors, masked, seed)
        for method in METHODS:
            predicted = probabilities[method].argmax(axis=1)
            correct[method] += int(np.sum(predicted[positions[held]] ==
                                          known[positions[held]]))
    return {m: correct[m] / len(positions) for m in METHODS}


def _classes(known):
    return int(known.max()) + 1


def _head(vectors, known, seed, weights=None):
    given = known >= 0
    head = LogisticRegression(C=10.0, max_iter=2000)
    head.fit(vectors[given], known[given], sample_weight=None if weights is None
             else weights[given])
    probabilities = np.zeros((len(vectors), _classes(known)))
    probabilities[:, head.classes_] = head.predict_proba(vectors)
    return probabilities


def _spreading(vectors, known, seed):
    spreading = LabelSpreading(kernel="knn", n_neighbors=min(10, len(vectors) - 1),
                               alpha=0.2, max_iter=100)
    spreading.fit(vectors, known)
    probabilities = np.zeros((len(vectors), _classes(known)))
    probabilities[:, spreading.classes_[spreading.classes_ >= 0]] = \
        spreading.label_distributions_
    return np.nan_to_num(probabilities)


def _clusters(vectors, known, seed):
    classes = _classes(known)
    groups = cluster(Embeddings(vectors, range(len(vectors))), k=classes, seed=seed,
                     verbose=0).labels
    names = np.full(classes, -1)
    for group in range(classes):
        votes = known[(groups == group) & (known >= 0)]
        if len(votes):
            names[group] = np.bincount(votes, minlength=classes).argmax()
    pseudo = np.where(known >= 0, known, names[groups])
    if len(np.unique(pseudo[pseudo >= 0])) < 2:
        return _head(vectors, known, seed)
    return _head(vectors, pseudo, seed)


def _each_method(vectors, known, seed):
    probabilities = {m: _METHODS[m](vectors, known, seed) for m in METHODS[1:]}
    probabilities["ensemble"] = sum(probabilities.values()) / len(probabilities)
    return probabilities


def _ensemble(vectors, known, seed):
    return _each_method(vectors, known, seed)["ensemble"]


_METHODS = {"ensemble": _ensemble, "head": _head, "spreading": _spreading,
            "clusters": _clusters}
