"""Folders of class subfolders: the classes, each file checked, the stable split."""

import collections
import os

import tensorflow as tf

from tl_keras.data.image_files import IMAGE_EXTENSIONS
from tl_keras.data.image_files import image_problem
from tl_keras.data.image_files import unsupported_format
from tl_keras.data.splits import split_by_hash

ImageFolder = collections.namedtuple("ImageFolder", "paths labels class_names skipped")


def class_folders(directory):
    """Returns the sorted class names of a directory of class folders, checked."""
    gfile = tf.io.gfile
    if not gfile.isdir(directory):
        raise ValueError(
            "Expected a directory with one subfolder of images per class. "
            f"Received: source={directory!r} (not a directory)"
        )
    names = sorted(
        entry for entry in (e.rstrip("/") for e in gfile.listdir(directory))
        if gfile.isdir(os.path.join(directory, entry)) and not entry.startswith(".")
    )
    if len(names) < 2:
        raise ValueError(
            "Expected at least two class subfolders of images (a classifier needs two "
            f"classes). Received: source={directory!r} with class folders {names}"
        )
    for name in names:
        if not _image_files(os.path.join(directory, name)):
            raise ValueError(
                f"Class folder {name!r} holds no images ({', '.join(IMAGE_EXTENSIONS)}). "
                f"Add images or remove the folder. Received: source={directory!r}"
            )
    _check_not_a_parent_of_splits(directory, names)
    return names


def _check_not_a_parent_of_splits(directory, names):
    """Refuses a folder whose "classes" each hold the same class folders and no
    image of their own (`cats_and_dogs_filtered/` with `train/` and
    `validation/`): a classifier of the splits is never what was meant."""
    inner = []
    for name in names:
        folder = os.path.join(directory, name)
        entries = [e.rstrip("/") for e in tf.io.gfile.listdir(folder) if not e.startswith(".")]
        folders = sorted(e for e in entries if tf.io.gfile.isdir(os.path.join(folder, e)))
        if len(folders) < 2 or len(folders) != len(entries):
            return
        inner.append(folders)
    if all(folders == inner[0] for folders in inner):
        split = next((n for n in names if n.lower() in ("train", "training")), names[0])
        raise ValueError(
            f"The class folders {names} each hold the same class folders {inner[0]} "
            "and no image of their own: this looks like the folder above the splits. "
            f"Pass one split, such as {os.path.join(directory, split)!r}. "
            f"Received: source={directory!r}")


def _image_files(folder, *, unsupported=None):
    """The image files under `folder`, sorted; other files (not hidden) are
    appended to `unsupported` when given."""
    found = []
    for root, dirs, files in tf.io.gfile.walk(folder):
        dirs[:] = sorted(d.rstrip("/") for d in dirs if not d.startswith("."))
        for name in sorted(f for f in files if not f.startswith(".")):
            path = os.path.join(root, name)
            if name.lower().endswith(IMAGE_EXTENSIONS):
                found.append(path)
            elif unsupported is not None:
                unsupported.append(path)
    return found


def scan_image_folder(directory):
    """Lists the images of a directory of class folders, checking each file.

    Returns:
        An `ImageFolder(paths, labels, class_names, skipped)`: the decodable
        images with their class indices, and `(path, reason)` for each file
        that was skipped.
    """
    class_names = class_folders(directory)
    paths, labels, skipped = [], [], []
    for label, name in enumerate(class_names):
        unsupported = []
        for path in _image_files(os.path.join(directory, name), unsupported=unsupported):
            problem = image_problem(path)
            if problem:
                skipped.append((os.path.relpath(path, directory), problem))
            else:
                paths.append(path)
                labels.append(label)
        skipped.extend((os.path.relpath(path, directory), unsupported_format(path))
                       for path in unsupported)
    for label, name in enumerate(class_names):
        if label not in labels:
            raise ValueError(
                f"Class folder {name!r} holds no decodable image (all its files were "
                f"skipped: see the report above). Received: source={directory!r}"
            )
    return ImageFolder(paths, labels, class_names, skipped)


def hash_sides(directory, paths, validation_split, test_split, seed):
    """`{side: [indices]}` of `paths` (files under `directory`), by the stable
    hash of each path relative to `directory`: the split `image_dataset` makes."""
    relative = [os.path.relpath(path, directory).replace(os.sep, "/") for path in paths]
    return split_by_hash(relative, validation_split, test_split, seed)


def scan_files(paths):
    """Image files named directly or found in folders, each checked.

    Returns:
        `(readable, skipped, missing)`: paths of decodable images, `(path,
        reason)` for the others, and the paths that do not exist.
    """
    readable, skipped, missing = [], [], []
    for path in map(os.fspath, paths):
        if tf.io.gfile.isdir(path):
            unsupported = []
            candidates = _image_files(path, unsupported=unsupported)
            skipped.extend((p, unsupported_format(p)) for p in unsupported)
        elif tf.io.gfile.exists(path):
            candidates = [path]  # named by the user: read whatever its extension
        else:
            missing.append(path)
            continue
        for candidate in candidates:
            problem = image_problem(candidate)
            if problem:
                skipped.append((candidate, problem))
            else:
                readable.append(candidate)
    return readable, skipped, missing


def skipped_report(directory, skipped, total, *, limit=20):
    """A readable report of skipped files: the count, then a line per file."""
    lines = [f"Skipped {len(skipped)} of {total} files in {directory} (they are not "
             "images tl_keras can read; training goes on without them):"]
    lines += [f"  {path}: {reason}" for path, reason in skipped[:limit]]
    if len(skipped) > limit:
        lines.append(f"  ... and {len(skipped) - limit} more "
                     "(all of them: scan_image_folder(directory).skipped)")
    return "\n".join(lines)
