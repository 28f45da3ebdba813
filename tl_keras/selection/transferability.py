"""Transferability scores of frozen features for labels: no training of the base.

- `logme`: the log of the maximum evidence of a Bayesian linear model on the
  features, per class (one-vs-rest targets), averaged over classes (You et
  al., "LogME: Practical Assessment of Pre-trained Models for Transfer
  Learning", ICML 2021). Higher is better; comparable across bases for the
  same labels.
- `knn_accuracy`: leave-one-out k-nearest-neighbour accuracy (cosine).
- `linear_probe_accuracy`: a ridge classifier's accuracy, k-fold.
"""

import numpy as np

_MAX_ITERATIONS = 11  # the fixed point converges in 2-3 steps, in at most 10
_EPSILON = 1e-5


def logme(features, labels):
    """LogME of `features` (`[n, d]`) for integer `labels` (`[n]`).

    For each class, the evidence of `y = w . f + noise` (prior precision
    alpha, noise precision beta) is maximised over alpha and beta by the
    fixed-point updates of the paper (MacKay's evidence framework); the score
    is the mean over classes of the log evidence per example.

    Returns:
        A float (higher: the features explain the labels with a simpler
        linear model).
    """
    features, labels = _checked(features, labels)
    n, d = features.shape
    gram = features.T @ features  # [d, d]
    v, s, vh = np.linalg.svd(gram, full_matrices=True)
    evidences = []
    for label in np.unique(labels):
        target = (labels == label).astype(np.float64)
        evidences.append(_class_evidence(features, target, v, s, vh, n, d))
    return float(np.mean(evidences))


def _class_evidence(features, target, v, s, vh, n, d):
    alpha, beta = 1.0, 1.0
    projected = vh @ (features.T @ target)
    for _ in range(_MAX_ITERATIONS):
        lam = alpha / beta
        gamma = float((s / (s + lam)).sum())  # the effective number of parameters
        mean = v @ (projected * beta / (alpha + beta * s))  # the posterior mean of w
        alpha_de = float((mean * mean).sum())
        alpha = gamma / (alpha_de + _EPSILON)
        beta_de = float(((target - features @ mean) ** 2).sum())
        beta = (n - gamma) / (beta_de + _EPSILON)
        if abs(alpha / beta - lam) / lam < 0.01:
            break
    evidence = (d / 2.0 * np.log(alpha) + n / 2.0 * np.log(beta)
                - 0.5 * np.sum(np.log(alpha + beta * s))
                - beta / 2.0 * (beta_de + _EPSILON) - alpha / 2.0 * (alpha_de + _EPSILON)
                - n / 2.0 * np.log(2 * np.pi))
    return evidence / n


def knn_accuracy(features, labels, k=5):
    """Leave-one-out accuracy of a k-nearest-neighbour vote (cosine similarity)."""
    features, labels = _checked(features, labels)
    unit = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)  # leave the example itself out
    k = max(1, min(k, len(labels) - 1))
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    classes = np.unique(labels)
    votes = np.stack([(labels[nearest] == c).sum(axis=1) for c in classes], axis=1)
    return float((classes[votes.argmax(axis=1)] == labels).mean())


def linear_probe_accuracy(features, labels, folds=5, l2=1.0):
    """Mean k-fold accuracy of a ridge classifier (one-vs-rest least squares on
    standardized features): a linear probe in closed form, no training loop."""
    features, labels = _checked(features, labels)
    n = len(labels)
    order = np.random.default_rng(0).permutation(n)
    classes = np.unique(labels)
    accuracies = []
    for fold in np.array_split(order, max(2, min(folds, n))):
        train = np.setdiff1d(order, fold)
        mean, std = features[train].mean(0), features[train].std(0) + 1e-6
        x = np.hstack([(features[train] - mean) / std, np.ones((len(train), 1))])
        y = (labels[train][:, None] == classes[None, :]).astype(np.float64)
        weights = np.linalg.solve(x.T @ x + l2 * np.eye(x.shape[1]), x.T @ y)
        test = np.hstack([(features[fold] - mean) / std, np.ones((len(fold), 1))])
        accuracies.append((classes[(test @ weights).argmax(1)] == labels[fold]).mean())
    return float(np.mean(accuracies))


SCORES = {"logme": logme, "knn": knn_accuracy, "linear": linear_probe_accuracy}


def _checked(features, labels):
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels).reshape(-1)
    if features.ndim != 2 or len(features) != len(labels) or len(features) < 2:
        raise ValueError("Expected features [n, d] and n integer labels, n >= 2. "
                         f"Received: features of shape {features.shape}, "
                         f"{len(labels)} labels")
    if labels.dtype.kind == "f" and not np.all(labels == np.round(labels)):
        raise ValueError("Expected integer class labels (not one-hot or continuous). "
                         f"Received: labels of dtype {labels.dtype}")
    return features, labels.astype(np.int64)
