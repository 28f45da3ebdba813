"""`tl-keras train`'s split audit: leaks and conflicts said in one line before training."""

import os

import numpy as np

import tl_keras as tlk
from tl_keras.data.image_folder import hash_sides
from tl_keras.data.image_folder import scan_image_folder
from tl_keras.data.tfrecords import is_tfrecord_source

SHOWN = 3  # leaks and conflicts named under the line


def audit_before_training(args, model, split, test_split, class_names):
    """Embeds every image of the run's splits with the model's frozen base (the
    split `image_dataset` makes of `--data`, and `--validation-data` and
    `--test-data` whole), runs `tl_keras.audit_splits`, and prints one line with
    the counts, then the first few pairs. `--no-audit` skips it.

    Returns:
        The `SplitAudit`, or None when nothing was audited (said in a line).
    """
    if args.no_audit:
        return None
    if is_tfrecord_source(args.data) or str(args.data).startswith("tfds:"):
        print("Split audit: skipped (it reads folders of images; --data is "
              f"{'TFRecords' if is_tfrecord_source(args.data) else 'a TFDS dataset'}).")
        return None
    sides = _sides(args.data, split, test_split)
    for side, folder in (("validation", args.validation_data), ("test", args.test_data)):
        if folder:
            sides[side] = _sides(folder, 0.0, 0.0)["train"]
    if not sides.get("validation"):
        print("Split audit: skipped (no validation images to compare with training).")
        return None
    paths = [path for side in sides.values() for path, _ in side]
    embedded = tlk.embed(model, paths, verbose=0)
    parts, start = [], 0
    for side in ("train", "validation", "test"):
        items = sides.get(side) or []
        indices = np.arange(start, start + len(items))
        start += len(items)
        part = embedded.subset(indices) if len(items) else None
        if part is not None:
            part.labels = np.array([label for _, label in items], dtype="int64")
            part.class_names = class_names
        parts.append(part)
    audit = tlk.audit_splits(parts[0], parts[1], parts[2], verbose=0)
    print(f"{audit.summary()} --no-audit skips this check.")
    for first, second, similarity in audit.leaks[:SHOWN]:
        print(f"  leak: {_short(first, args)} ~ {_short(second, args)} ({similarity:.2f})")
    for first, a, second, b, similarity in audit.conflicts[:SHOWN]:
        print(f"  conflict: {_short(first, args)} ({a}) ~ {_short(second, args)} ({b}, "
              f"{similarity:.2f})")
    return audit


def _sides(directory, split, test_split):
    """`{side: [(path, class index)]}` as `image_dataset` splits `directory` (seed 0)."""
    folder = scan_image_folder(directory)
    indices = hash_sides(directory, folder.paths, split, test_split, seed=0)
    return {side: [(folder.paths[i], folder.labels[i]) for i in chosen]
            for side, chosen in indices.items()}


def _short(path, args):
    """`path` relative to the data folder it is in, when it is in one."""
    for folder in (args.data, args.validation_data, args.test_data):
        if folder and os.path.abspath(path).startswith(os.path.abspath(folder) + os.sep):
            return os.path.relpath(path, os.path.dirname(os.path.abspath(folder)))
    return path
