"""Items that do not belong: `find_outliers`, single or in a group."""

import dataclasses
import math

import numpy as np

from tl_keras.log import say
from tl_keras.unlabelled.embed import as_embeddings
from tl_keras.unlabelled.neighbours import normalized
from tl_keras.unlabelled.neighbours import top_neighbours

GROUP_FRACTION = 0.05
MIN_NEIGHBOURS = 10


@dataclasses.dataclass
class OutlierReport:
    """What `find_outliers` found.

    Attributes:
        ids: every item's id, the most outlying first.
        scores: their scores, aligned with `ids` (cosine distance to the
            `neighbour`-th nearest item: higher is farther from the rest).
        neighbour: the rank of the neighbour each item was scored against.
    """

    ids: list
    scores: np.ndarray
    neighbour: int

    def top(self, count=10):
        """The `count` most outlying `(id, score)`."""
        return [(i, float(s)) for i, s in zip(self.ids[:count], self.scores[:count])]

    def summary(self):
        shown = ", ".join(f"{i} ({s:.3f})" for i, s in self.top(5))
        return (f"Outliers (distance to the {self.neighbour}th nearest item), the most "
                f"outlying first: {shown}.")


def find_outliers(data_or_embeddings, *, group_fraction=GROUP_FRACTION, base=None,
                  verbose="auto", **embed_options):
    """Ranks the items by how far they are from the rest of the collection.

    An item's score is its cosine distance to its `m`-th nearest other item,
    with `m` larger than any group of intruders it should catch: `m =
    max(10, group_fraction × n)`. A single odd image is far from all others;
    a group of similar intruders (a folder of scans mixed into photos) is
    close to its own members, but its `m`-th neighbour is outside the group,
    and far. Scores that look only at the nearest few neighbours (k-NN with
    a small k, LOF) rank such a group as ordinary; measured in
    `benchmarks/unlabelled.py`.

    Args:
        data_or_embeddings: `Embeddings`, a `.npz` they were saved to, or data
            as `tl_keras.embed` takes it.
        group_fraction: the largest share of the collection a group of
            intruders may make up and still be found. Defaults to `0.05`.
        base: for data: anything `tl_keras.embed` takes. Defaults to `None`.
        verbose: one line with the top five (`0` hides it). Defaults to `"auto"`.
        **embed_options: for data, as `tl_keras.embed` takes them.

    Returns:
        An `OutlierReport` (`ids` ranked, `scores`, `neighbour`).

    Example:

    >>> emb = tl_keras.embed(model, "flower_photos", verbose=0)
    >>> report = tl_keras.find_outliers(emb, verbose=0)
    >>> len(report.ids), report.neighbour
    (15, 10)
    """
    if isinstance(group_fraction, bool) or not isinstance(group_fraction, (int, float)) \
            or not 0 < group_fraction < 0.5:
        raise ValueError("Expected `group_fraction` in (0, 0.5): the largest share of the "
                         f"collection a group of intruders makes up. Received: "
                         f"group_fraction={group_fraction!r}")
    emb = as_embeddings(data_or_embeddings, base=base, verbose=verbose, **embed_options)
    if len(emb) < 3:
        raise ValueError(f"Expected at least 3 items to find outliers among. Received: "
                         f"{len(emb)} items")
    neighbour = min(max(MIN_NEIGHBOURS, math.ceil(group_fraction * len(emb))), len(emb) - 1)
    vectors = normalized(emb.vectors)
    _, similarities = top_neighbours(vectors, vectors, neighbour, exclude_self=True)
    distance = 1.0 - similarities[:, neighbour - 1]
    order = np.argsort(-distance, kind="stable")
    report = OutlierReport([emb.ids[i] for i in order], distance[order], neighbour)
    say(report.summary(), verbose)
    return report
