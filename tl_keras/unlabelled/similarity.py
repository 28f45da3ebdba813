"""Similar-item search: `SimilarityIndex`."""

import numpy as np

from tl_keras.unlabelled.approximate import ApproximateIndex
from tl_keras.unlabelled.embeddings import Embeddings
from tl_keras.unlabelled.neighbours import Whitening
from tl_keras.unlabelled.neighbours import top_neighbours


class SimilarityIndex:
    """Exact search for the items most similar to a query.

    Similarity is the whitened cosine of `tl_keras.find_duplicates`
    (the whitening fitted on the indexed items and applied to the queries);
    `whiten=False` searches by the raw features' cosine. The search runs in
    blocks of bounded memory, exact up to ~10⁵ items on a CPU; beyond,
    `approximate=True` builds faiss's HNSW index (the `faiss` extra).

    Args:
        embeddings: `Embeddings` of the items to search (from `tl_keras.embed`).
        whiten: search in the whitened space. Defaults to `True`.
        approximate: search an approximate HNSW index (faiss) instead of
            exactly. Defaults to `False`.

    Example:

    >>> emb = tl_keras.embed(model, "flower_photos", verbose=0)
    >>> index = tl_keras.SimilarityIndex(emb)
    >>> ids, scores = index.search(emb.vectors[:2], k=3)
    >>> ids.shape, scores.shape
    ((2, 3), (2, 3))
    """

    def __init__(self, embeddings, whiten=True, approximate=False):
        if not isinstance(embeddings, Embeddings):
            raise ValueError("Expected Embeddings (from tl_keras.embed). Received: "
                             f"embeddings of type {type(embeddings).__name__}")
        self.embeddings = embeddings
        self.space = Whitening(embeddings.vectors) if whiten else Whitening(
            embeddings.vectors[:0])
        self._index = self.space(embeddings.vectors)
        self.approximate = ApproximateIndex(self._index) if approximate else None

    def __len__(self):
        return len(self.embeddings)

    def search(self, queries, k=10):
        """The `k` most similar items for each query.

        Args:
            queries: `Embeddings` or vectors `[q, d]` of the same base.
            k: items per query (at most the index's size). Defaults to `10`.

        Returns:
            `(ids, scores)`, each `[q, k]`, the most similar first (`ids` an
            object array of the items' ids).
        """
        vectors = queries.vectors if isinstance(queries, Embeddings) else \
            np.asarray(queries, dtype="float32")
        if vectors.ndim == 1:
            vectors = vectors[None]
        if vectors.ndim != 2 or vectors.shape[1] != self.embeddings.dimension:
            raise ValueError(f"Expected query vectors [q, {self.embeddings.dimension}] from "
                             f"the same base. Received: shape {vectors.shape}")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or \
                not 1 <= k <= len(self):
            raise ValueError(f"Expected `k` in [1, {len(self)}]. Received: k={k!r}")
        queries = self.space(vectors)
        positions, scores = (self.approximate.search(queries, k) if self.approximate
                             else top_neighbours(queries, self._index, k))
        ids = np.empty(positions.shape, dtype=object)
        for row, found in enumerate(positions):
            ids[row] = [self.embeddings.ids[p] for p in found]
        return ids, scores
