"""Near-duplicates within a collection: `find_duplicates`."""

import dataclasses
import hashlib

import numpy as np
import tensorflow as tf

from tl_keras.log import plural
from tl_keras.log import say
from tl_keras.unlabelled.approximate import EXACT_LIMIT
from tl_keras.unlabelled.approximate import ApproximateIndex
from tl_keras.unlabelled.approximate import approximate_pairs_above
from tl_keras.unlabelled.approximate import is_available
from tl_keras.unlabelled.embed import as_embeddings
from tl_keras.unlabelled.neighbours import Whitening
from tl_keras.unlabelled.neighbours import auto_threshold
from tl_keras.unlabelled.neighbours import pairs_above
from tl_keras.unlabelled.neighbours import top_neighbours

# How far above the largest expected background similarity a duplicate lies
# (see `auto_threshold`); measured in benchmarks/unlabelled.py.
AUTO_MARGIN = 2.0


@dataclasses.dataclass
class DuplicateReport:
    """What `find_duplicates` found.

    Attributes:
        groups: lists of ids, each a set of near-duplicates (connected by
            pairs), largest first.
        pairs: `(id_a, id_b, similarity)`, most similar first; byte-identical
            files have similarity 1.0.
        threshold: the similarity a pair had to reach (whitened cosine).
        identical: groups of byte-identical files (a subset of `groups`).
        search: `"exact"`, or `"approximate"` (faiss's HNSW index).
    """

    groups: list
    pairs: list
    threshold: float
    identical: list = dataclasses.field(default_factory=list)
    search: str = "exact"

    def summary(self):
        duplicates = sum(len(g) - 1 for g in self.groups)
        return (f"{plural(len(self.groups), 'group')} of near-duplicates "
                f"({plural(duplicates, 'item')} beyond the first of each; "
                f"{len(self.identical)} byte-identical) at similarity >= "
                f"{self.threshold:.3f}.")


def find_duplicates(data_or_embeddings, *, threshold="auto", search="auto", base=None,
                    verbose="auto", **embed_options):
    """Finds near-duplicate items: the same photo edited, resized or re-encoded.

    Similarity is the cosine of the whitened features (`Whitening`: PCA
    whitening fitted on the collection, with shrinkage), which separates an
    edited copy from a merely similar photo far better than the raw
    features' cosine. Search is exact, in blocks of bounded memory, up to 10⁵
    items; beyond, an approximate HNSW index from faiss (the `faiss` extra)
    when it is installed.

    `threshold="auto"` chooses from the data: for each item, its similarity to
    its nearest other item. Most items' nearest neighbour is a different
    photo, so those values form a background, with a centre (their median)
    and a spread `σ` measured on the lower half alone (which duplicates
    cannot inflate). Of `n` background values the largest lies about
    `√(2 ln n)` spreads above the centre; the threshold is twice as far:
    `median + 2 √(2 ln n) σ`, measured again without the items above it until
    it settles. A pair is a duplicate when it is more alike than any two
    distinct items are expected to be.

    Byte-identical files are always found (their contents are hashed),
    whatever the threshold.

    Args:
        data_or_embeddings: `Embeddings` (from `tl_keras.embed`), a `.npz`
            they were saved to, or data as `tl_keras.embed` takes it.
        threshold: `"auto"`, or a whitened cosine similarity in (-1, 1].
            Defaults to `"auto"`.
        search: `"exact"`, `"approximate"` (faiss: each item's 50 nearest are
            compared), or `"auto"`: exact up to 10⁵ items, approximate beyond
            where faiss is installed. Defaults to `"auto"`.
        base: for data: anything `tl_keras.embed` takes. Defaults to `None`
            (`"mobilenet_v2"`).
        verbose: one line with what it found (`0` hides it). Defaults to
            `"auto"`.
        **embed_options: for data: `weights`, `alpha`, `image_size`, ... as
            `tl_keras.embed` takes them.

    Returns:
        A `DuplicateReport` (`groups`, `pairs`, `threshold`, `identical`).

    Example:

    >>> emb = tl_keras.embed(model, "flower_photos", verbose=0)
    >>> report = tl_keras.find_duplicates(emb, verbose=0)
    >>> report.groups, report.threshold > 0
    ([], True)
    """
    check_threshold(threshold)
    if search not in ("auto", "exact", "approximate"):
        raise ValueError("Expected `search` to be 'auto', 'exact' or 'approximate'. "
                         f"Received: search={search!r}")
    emb = as_embeddings(data_or_embeddings, base=base, verbose=verbose, **embed_options)
    space = Whitening(emb.vectors)(emb.vectors)
    search = _search_of(search, len(space), verbose)
    if search == "approximate":
        index = ApproximateIndex(space)
        nearest = index.search(space, 1, exclude_self=True)[1][:, 0]
        threshold = chosen_threshold(space, threshold, nearest=nearest)
        pairs = approximate_pairs_above(space, threshold, index)
    else:
        threshold = chosen_threshold(space, threshold)
        pairs = pairs_above(space, threshold)
    identical = identical_files(emb.ids)
    pairs = merged_pairs(pairs, identical)
    groups = connected_groups(len(emb), pairs)
    report = DuplicateReport(
        groups=[[emb.ids[i] for i in g] for g in groups],
        pairs=[(emb.ids[i], emb.ids[j], round(float(s), 6)) for i, j, s in pairs],
        threshold=float(threshold),
        identical=[[emb.ids[i] for i in g] for g in connected_groups(len(emb), identical)],
        search=search)
    say(report.summary(), verbose)
    return report


def check_threshold(threshold):
    if threshold == "auto":
        return
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) \
            or not -1.0 < threshold <= 1.0:
        raise ValueError("Expected `threshold` to be 'auto' or a similarity in (-1, 1]. "
                         f"Received: threshold={threshold!r}")


def chosen_threshold(space, threshold, nearest=None):
    """`threshold`, or the automatic one for the normalized vectors `space`
    (`nearest`: each item's similarity to its nearest other, when known)."""
    if threshold != "auto":
        return float(threshold)
    if len(space) < 3:
        return 0.95  # no background to measure: only very close pairs
    if nearest is None:
        nearest = top_neighbours(space, space, 1, exclude_self=True)[1][:, 0]
    return auto_threshold(nearest, AUTO_MARGIN)


def _search_of(search, count, verbose):
    if search != "auto":
        return search
    if count <= EXACT_LIMIT:
        return "exact"
    if is_available():
        return "approximate"
    say(f"Exact search over {count:,} items (install faiss, pip install "
        "'tl_keras[faiss]', for the approximate index beyond 100,000).", verbose)
    return "exact"


def identical_files(ids):
    """Pairs `(i, j, 1.0)` of ids that are files with the same bytes."""
    seen, pairs = {}, []
    for position, item in enumerate(ids):
        if not isinstance(item, str) or not tf.io.gfile.exists(item) or \
                tf.io.gfile.isdir(item):
            continue
        digest = hashlib.sha256()
        with tf.io.gfile.GFile(item, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        key = digest.hexdigest()
        if key in seen:
            pairs.append((seen[key], position, 1.0))
        else:
            seen[key] = position
    return pairs


def merged_pairs(pairs, identical):
    """`pairs` with the byte-identical ones set to 1.0 (and added), most similar first."""
    merged = {(min(i, j), max(i, j)): s for i, j, s in pairs}
    for i, j, _ in identical:
        merged[(min(i, j), max(i, j))] = 1.0
    return sorted(((i, j, s) for (i, j), s in merged.items()),
                  key=lambda p: (-p[2], p[0], p[1]))


def connected_groups(count, pairs):
    """The connected components of `pairs` with two or more members, largest first."""
    parent = np.arange(count)

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j, _ in pairs:
        a, b = root(i), root(j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    members = {}
    for i in sorted({p for pair in pairs for p in pair[:2]}):
        members.setdefault(root(i), []).append(i)
    return sorted(members.values(), key=lambda g: (-len(g), g[0]))
