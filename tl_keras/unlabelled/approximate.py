"""Approximate nearest neighbours through faiss (the `faiss` extra), for
collections beyond what exact search does in reasonable time (~10⁵ items on a
CPU). An HNSW graph (Malkov and Yashunin, 2018) over the normalized vectors,
searched by inner product, that is cosine similarity. Its recall against exact
search is measured in `benchmarks/unlabelled.py`.
"""

import numpy as np

LINKS = 32  # HNSW's M: links per node
BUILD_DEPTH = 80  # efConstruction
SEARCH_DEPTH = 128  # efSearch: candidates kept while searching
# Exact search up to this many items; beyond, the approximate index where faiss is.
EXACT_LIMIT = 100_000


def faiss_module():
    """The `faiss` module, or a clear error naming the extra to install."""
    try:
        import faiss
    except ImportError as error:
        raise ImportError("Approximate search needs faiss: pip install 'tl_keras[faiss]' "
                          "(or faiss-cpu). Received: no module named 'faiss'") from error
    return faiss


def is_available():
    try:
        faiss_module()
    except ImportError:
        return False
    return True


class ApproximateIndex:
    """An HNSW index of normalized `vectors` (`[n, d]` float32)."""

    def __init__(self, vectors):
        faiss = faiss_module()
        vectors = np.ascontiguousarray(vectors, dtype="float32")
        self.index = faiss.IndexHNSWFlat(vectors.shape[1], LINKS, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = BUILD_DEPTH
        self.index.add(vectors)
        self.index.hnsw.efSearch = SEARCH_DEPTH
        self.count = len(vectors)

    def search(self, queries, k, *, exclude_self=False):
        """`(positions [nq, k], similarities [nq, k])`, most similar first; with
        `exclude_self`, `queries` are the indexed vectors and none finds itself."""
        queries = np.ascontiguousarray(queries, dtype="float32")
        wanted = min(k + (1 if exclude_self else 0), self.count)
        self.index.hnsw.efSearch = max(SEARCH_DEPTH, wanted)
        similarities, positions = self.index.search(queries, wanted)
        if exclude_self:
            rows = np.arange(len(queries))[:, None]
            own = positions == rows
            # Drop each row's own entry (or its last, when the search missed itself).
            drop = np.where(own.any(axis=1), own.argmax(axis=1), wanted - 1)
            keep = np.ones(positions.shape, dtype=bool)
            keep[np.arange(len(queries)), drop] = False
            positions = positions[keep].reshape(len(queries), wanted - 1)
            similarities = similarities[keep].reshape(len(queries), wanted - 1)
        return positions[:, :k].astype("int64"), similarities[:, :k]


def approximate_pairs_above(vectors, threshold, index, neighbours=50):
    """Pairs `(i, j, similarity)`, `i < j`, above `threshold` among each item's
    `neighbours` nearest in `index` (an `ApproximateIndex` of `vectors`)."""
    positions, similarities = index.search(vectors, neighbours, exclude_self=True)
    found = {}
    rows, columns = np.nonzero(similarities >= threshold)
    for row, column in zip(rows.tolist(), columns.tolist()):
        other = int(positions[row, column])
        if other < 0:
            continue
        key = (min(row, other), max(row, other))
        found[key] = max(found.get(key, -1.0), float(similarities[row, column]))
    return sorted(((i, j, s) for (i, j), s in found.items()), key=lambda p: -p[2])
