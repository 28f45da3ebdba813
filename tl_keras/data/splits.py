"""Stable train / validation / test splits: each example's side is a hash of its key.

The key is a file's path within the dataset (folders) or the text itself
(tables, arrays of texts). Its hash is a number in [0, 1): below
`validation_split` it is validation; at or above `1 - test_split` it is test;
in between, training. Adding examples never moves an old one across a line,
the validation side is the same with or without a test split, and nothing
but the key and the seed decides.
"""

import hashlib

SIDES = ("train", "validation", "test")


def check_splits(validation_split, test_split):
    """Both shares in [0, 1), and together under 1, or a ValueError."""
    for name, value in (("validation_split", validation_split), ("test_split", test_split)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ValueError(f"Expected `{name}` in [0, 1). Received: {name}={value!r}")
    if validation_split + test_split >= 1:
        raise ValueError(
            "Expected `validation_split + test_split` < 1, leaving data to train on. "
            f"Received: validation_split={validation_split}, test_split={test_split}")


def hash_position(key, seed=0):
    """A stable number in [0, 1) for `key` (a string) and `seed`."""
    digest = hashlib.sha1(f"{seed}:{key}".encode("utf-8")).hexdigest()
    return (int(digest[:12], 16) % 1_000_000) / 1_000_000


def side_of(key, validation_split, test_split=0.0, seed=0):
    """`"train"`, `"validation"` or `"test"` for the example keyed `key`."""
    position = hash_position(key, seed)
    if position < validation_split:
        return "validation"
    if test_split and position >= 1 - test_split:
        return "test"
    return "train"


def split_by_hash(keys, validation_split, test_split=0.0, seed=0):
    """`{side: [indices]}` of `keys` for the three sides."""
    sides = {side: [] for side in SIDES}
    for index, key in enumerate(keys):
        sides[side_of(key, validation_split, test_split, seed)].append(index)
    return sides


def split_by_order(count, validation_split, test_split=0.0, seed=0):
    """`{side: indices}` from a seeded permutation of `count` examples (arrays of
    images, which have no key): the first `validation_split` of it validation,
    the last `test_split` test."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(count)
    n_val = int(round(count * validation_split))
    n_test = int(round(count * test_split))
    return {"validation": order[:n_val], "test": order[count - n_test:] if n_test else
            order[:0], "train": order[n_val:count - n_test]}


def found_line(count, what, classes, where, indices, validation_split, test_split):
    """`"Found 300 images in 3 classes in DIR: 240 for training, 60 held out for
    validation (...)."`: what a source holds and how it was split, said once."""
    found = f"Found {count} {what} in {classes} classes in {where}"
    if not (validation_split or test_split):
        return f"{found}, all read."
    held = [f"{len(indices['train'])} for training"]
    whole = "the folder" if what == "images" else "the data"
    if validation_split:
        held.append(f"{len(indices['validation'])} held out for validation "
                    f"(validation_split={validation_split}; 0 reads {whole} whole)")
    if test_split:
        held.append(f"{len(indices['test'])} held out for the test "
                    f"(test_split={test_split}; nothing in training reads them)")
    return f"{found}: {', '.join(held)}."


def empty_side_error(side, share, count, what, source):
    """The error for a share that leaves its side empty."""
    name = f"{side}_split" if side == "test" else "validation_split"
    return ValueError(
        f"{name}={share} of {count} {what} leaves no {side} {what[:-1]}. Add "
        f"{what}, or pass {name}=0. Received: source={source}")
