"""Leaks between splits and one image under two classes: `audit_splits`."""

import dataclasses

import numpy as np

from tl_keras.log import plural
from tl_keras.log import say
from tl_keras.unlabelled.duplicates import check_threshold
from tl_keras.unlabelled.duplicates import chosen_threshold
from tl_keras.unlabelled.duplicates import identical_files
from tl_keras.unlabelled.duplicates import merged_pairs
from tl_keras.unlabelled.embed import as_embeddings
from tl_keras.unlabelled.neighbours import Whitening
from tl_keras.unlabelled.neighbours import pairs_above

SPLITS = ("train", "validation", "test")


@dataclasses.dataclass
class SplitAudit:
    """What `audit_splits` found.

    Attributes:
        leaks: `(id_in_train, id_elsewhere, similarity)` for each near-duplicate
            across splits; the first id is in the earlier split (train, then
            validation), the second in a later one.
        conflicts: `(id_a, class_a, id_b, class_b, similarity)` for each pair of
            near-duplicates, in any splits, filed under different classes.
        threshold: the similarity a pair had to reach (whitened cosine).
        counts: items per split.
    """

    leaks: list
    conflicts: list
    threshold: float
    counts: dict

    def summary(self):
        splits = ", ".join(f"{n} {name}" for name, n in self.counts.items())
        return (f"Split audit ({splits}): {plural(len(self.leaks), 'leak')} (near-duplicates "
                f"across splits), {plural(len(self.conflicts), 'conflict')} (one image under "
                f"two classes) at similarity >= {self.threshold:.3f}.")


def audit_splits(train, validation, test=None, *, threshold="auto", base=None,
                 verbose="auto", **embed_options):
    """Finds near-duplicates across splits (leaks) and under two classes (conflicts).

    A validation or test image that is a near-copy of a training image makes
    the held-out accuracy an overestimate; the same image filed under two
    classes is a labelling error. The splits are compared in one whitened
    space fitted on all of them, with `tl_keras.find_duplicates`'s
    similarity and automatic threshold (chosen on all the splits together);
    byte-identical files always count.

    Args:
        train: the training split: a folder of class folders, `Embeddings`, a
            `.npz` they were saved to, or data as `tl_keras.embed` takes it.
        validation: the validation split, the same way.
        test: the test split, or `None`. Defaults to `None`.
        threshold: `"auto"` or a whitened cosine similarity. Defaults to
            `"auto"`.
        base: for data: anything `tl_keras.embed` takes. Defaults to `None`
            (`"mobilenet_v2"`).
        verbose: one line with the counts (`0` hides it). Defaults to `"auto"`.
        **embed_options: for data, as `tl_keras.embed` takes them.

    Returns:
        A `SplitAudit` (`leaks`, `conflicts`, `threshold`, `counts`).

    Example:

    >>> audit = tl_keras.audit_splits("flower_photos", "flower_photos", base=model,
    ...                               verbose=0)  # every image leaks: the same files
    >>> len(audit.leaks), audit.leaks[0][2], audit.conflicts
    (15, 1.0, [])
    """
    check_threshold(threshold)
    splits = [("train", train), ("validation", validation)] + \
        ([("test", test)] if test is not None else [])
    embedded = [(name, as_embeddings(data, base=base, verbose=verbose, **embed_options))
                for name, data in splits]
    dimensions = {emb.dimension for _, emb in embedded}
    if len(dimensions) > 1:
        raise ValueError("Expected the splits embedded by one base (one dimension). "
                         f"Received: dimensions {[(n, e.dimension) for n, e in embedded]}")
    vectors = np.concatenate([emb.vectors for _, emb in embedded])
    split_of = np.concatenate([np.full(len(emb), k) for k, (_, emb) in enumerate(embedded)])
    ids = [i for _, emb in embedded for i in emb.ids]
    classes = [c for _, emb in embedded for c in emb.label_names()]
    space = Whitening(vectors)(vectors)
    threshold = chosen_threshold(space, threshold)
    pairs = merged_pairs(pairs_above(space, threshold), identical_files(ids))
    leaks, conflicts = [], []
    for i, j, similarity in pairs:
        similarity = round(float(similarity), 6)
        if split_of[i] != split_of[j]:
            first, second = (i, j) if split_of[i] < split_of[j] else (j, i)
            leaks.append((ids[first], ids[second], similarity))
        if classes[i] is not None and classes[j] is not None and classes[i] != classes[j]:
            conflicts.append((ids[i], classes[i], ids[j], classes[j], similarity))
    audit = SplitAudit(leaks, conflicts, float(threshold),
                       {name: len(emb) for name, emb in embedded})
    say(audit.summary(), verbose)
    return audit
