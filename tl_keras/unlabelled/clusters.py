"""Groups in a collection: `cluster`, spectral clustering on a k-NN graph."""

import dataclasses

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
import scipy.sparse.linalg
from sklearn.cluster import KMeans

from tl_keras.log import say
from tl_keras.unlabelled.embed import as_embeddings
from tl_keras.unlabelled.neighbours import normalized
from tl_keras.unlabelled.neighbours import top_neighbours

NEIGHBOURS = 10
MAX_K = 20
EXAMPLES = 8  # items nearest each centre in the report


@dataclasses.dataclass
class ClusterReport:
    """What `cluster` found.

    Attributes:
        labels: the cluster of each item (`[n]` ints in `[0, k)`, aligned with
            the embeddings), clusters numbered by size, largest first.
        k: the number of clusters.
        ids: the items' ids, aligned with `labels`.
        examples: for each cluster, the ids of the items nearest its centre.
        sizes: items in each cluster.
        chosen: how `k` was decided (`"given"` or `"eigengap"`).
    """

    labels: np.ndarray
    k: int
    ids: list
    examples: list
    sizes: list
    chosen: str

    def members(self, cluster):
        """The ids of the items in `cluster`."""
        return [i for i, c in zip(self.ids, self.labels) if c == cluster]

    def summary(self):
        how = "given" if self.chosen == "given" else "chosen by the eigengap"
        return f"{self.k} clusters ({how}) of sizes {', '.join(map(str, self.sizes))}."


def cluster(data_or_embeddings, k=None, *, max_k=MAX_K, neighbours=NEIGHBOURS, seed=0,
            base=None, verbose="auto", **embed_options):
    """Groups the items: spectral clustering of their k-nearest-neighbour graph.

    The graph links each item to its `neighbours` most similar items
    (cosine of the features), symmetrized. The eigenvectors of its normalized
    Laplacian for the `k` smallest eigenvalues place items that the graph
    connects densely close together, and k-means on those rows gives the
    clusters. Measured on the real cats and dogs (MobileNet, alpha 0.25;
    `benchmarks/unlabelled.py`), this matches the two classes better than
    k-means on the features themselves.

    When `k` is `None` it is chosen by the eigengap: the `k` in `[2, max_k]`
    after which the Laplacian's sorted eigenvalues jump most
    (`λ[k] - λ[k-1]`, von Luxburg 2007): `k` groups that the graph barely
    links give `k` eigenvalues near 0, then a gap.

    Args:
        data_or_embeddings: `Embeddings`, a `.npz` they were saved to, or data
            as `tl_keras.embed` takes it.
        k: the number of clusters, or `None` to choose it. Defaults to `None`.
        max_k: the largest `k` considered when choosing. Defaults to `20`.
        neighbours: each item's links in the graph. Defaults to `10`.
        seed: for k-means. Defaults to `0`.
        base: for data: anything `tl_keras.embed` takes. Defaults to `None`.
        verbose: one line (`0` hides it). Defaults to `"auto"`.
        **embed_options: for data, as `tl_keras.embed` takes them.

    Returns:
        A `ClusterReport` (`labels`, `k`, `examples`, `sizes`, `chosen`).

    Example:

    >>> emb = tl_keras.embed(model, "flower_photos", verbose=0)
    >>> report = tl_keras.cluster(emb, k=3, verbose=0)
    >>> report.k, len(report.labels), sum(report.sizes)
    (3, 15, 15)
    """
    emb = as_embeddings(data_or_embeddings, base=base, verbose=verbose, **embed_options)
    n = len(emb)
    _check_count("k", k, 2, n - 1, allow_none=True)
    _check_count("max_k", max_k, 2, None)
    _check_count("neighbours", neighbours, 1, None)
    if n < 3:
        raise ValueError(f"Expected at least 3 items to cluster. Received: {n} items")
    vectors = normalized(emb.vectors)
    wanted = k if k is not None else min(max_k, n - 2)
    eigenvalues, eigenvectors = _spectrum(vectors, min(neighbours, n - 1), wanted + 1)
    chosen = "given"
    if k is None:
        gaps = np.diff(eigenvalues[:wanted + 1])
        k = int(np.argmax(gaps[1:]) + 2)  # the gap after the k-th eigenvalue, k >= 2
        chosen = "eigengap"
    rows = normalized(eigenvectors[:, :k])
    labels = KMeans(k, n_init=10, random_state=seed).fit_predict(rows)
    labels = _numbered_by_size(labels, k)
    examples = []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        centre = normalized(vectors[members].mean(axis=0, keepdims=True))
        order = np.argsort(-(vectors[members] @ centre[0]))[:EXAMPLES]
        examples.append([emb.ids[members[i]] for i in order])
    report = ClusterReport(labels, k, list(emb.ids), examples,
                           np.bincount(labels, minlength=k).tolist(), chosen)
    say(report.summary(), verbose)
    return report


def _spectrum(vectors, neighbours, count):
    """The `count` smallest eigenvalues (ascending) and eigenvectors of the
    normalized Laplacian of the symmetrized k-NN graph of `vectors`."""
    n = len(vectors)
    positions, _ = top_neighbours(vectors, vectors, neighbours, exclude_self=True)
    rows = np.repeat(np.arange(n), positions.shape[1])
    graph = scipy.sparse.csr_matrix((np.ones(rows.size), (rows, positions.ravel())),
                                    shape=(n, n))
    graph = graph.maximum(graph.T)
    laplacian = scipy.sparse.csgraph.laplacian(graph, normed=True)
    count = min(count, n - 1)
    if n <= 500:  # small: a dense solver is exact and quick
        values, vectors_ = np.linalg.eigh(laplacian.toarray())
        return values[:count], vectors_[:, :count]
    # Shift-invert about a point just below 0 finds the smallest eigenvalues fast.
    values, vectors_ = scipy.sparse.linalg.eigsh(laplacian, k=count, sigma=-1e-3,
                                                 which="LM", v0=np.ones(n))
    order = np.argsort(values)
    return values[order], vectors_[:, order]


def _numbered_by_size(labels, k):
    order = np.argsort(-np.bincount(labels, minlength=k), kind="stable")
    renumber = np.empty(k, dtype="int64")
    renumber[order] = np.arange(k)
    return renumber[labels]


def _check_count(name, value, low, high, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low \
            or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"Expected `{name}` to be an integer {bounds}. "
                         f"Received: {name}={value!r}")
