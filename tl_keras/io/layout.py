"""The export layout, in one place: what is where in `saved_models/NAME/<version>/`.

```
saved_models/NAME/
  .tmp-3-1f2e...(.lock) while writing: TF Serving ignores non-integer names
  3/                    after an atomic rename
    saved_model.pb, variables/
    assets/labels.txt
    assets.extra/tf_serving_warmup_requests
    model_card.json
    keras/model.keras   for reuse as a base (tl_keras.load_base("saved_models/NAME"))
```

Export, TFLite, `check_export`, the model library, exported bases and the CLI
ask this module for paths, versions, labels and cards. Every path goes through
`tf.io.gfile`, so the layout is the same on a disk, `gs://`, `s3://` (with
`tensorflow-io`) or `ram://`.
"""

import json
import os

import keras
import numpy as np
import tensorflow as tf

from tl_keras.io import safe_loading

gfile = tf.io.gfile

SAVED_MODEL = "saved_model.pb"
MODEL_CARD = "model_card.json"
KERAS_MODEL = os.path.join("keras", "model.keras")
LABELS_FILE = os.path.join("assets", "labels.txt")
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


# === Files ===

def files_under(directory):
    """Every file under `directory`, on any filesystem `tf.io.gfile` knows, sorted.

    Only files that exist: a listing can name what is not there (`ram://` lists
    a directory `assets` with its sibling `assets.extra`'s suffix, `.extra`).
    """
    files = []
    for root, _, names in gfile.walk(os.fspath(directory)):
        listed = (os.path.join(root, name.rstrip("/")) for name in names)
        files += [path for path in listed if gfile.exists(path) and not gfile.isdir(path)]
    return sorted(files)


# === Versions ===

def is_version_dir(path):
    """Whether `path` holds a SavedModel (`saved_model.pb`)."""
    return gfile.exists(os.path.join(os.fspath(path), SAVED_MODEL))


def list_versions(model_dir):
    """Returns the integer version directories of `model_dir`, sorted ascending."""
    model_dir = os.fspath(model_dir)
    if not gfile.isdir(model_dir):
        return []
    entries = (entry.rstrip("/") for entry in gfile.listdir(model_dir))
    return sorted(int(entry) for entry in entries
                  if entry.isdigit() and gfile.isdir(os.path.join(model_dir, entry)))


def resolve_version_dir(path):
    """Returns the version directory that `path` means, or None.

    `path` is a version directory (`saved_models/NAME/3`) or a model directory
    holding integer versions (`saved_models/NAME`: its latest version that
    holds a SavedModel; see `broken_versions` for the others).
    """
    path = os.fspath(path)
    if is_version_dir(path):
        return path
    usable = [v for v in list_versions(path) if is_version_dir(os.path.join(path, str(v)))]
    if usable:
        return os.path.join(path, str(usable[-1]))
    return None


def broken_versions(model_dir):
    """The integer version directories of `model_dir` without a SavedModel."""
    return [v for v in list_versions(model_dir)
            if not is_version_dir(os.path.join(model_dir, str(v)))]


def check_export_dir(export_dir):
    """Raises a clear error, before any work, when `export_dir` cannot hold versions."""
    export_dir = os.fspath(export_dir)
    if gfile.exists(export_dir) and not gfile.isdir(export_dir):
        raise ValueError(
            "Expected `export_dir` to be a directory (it will hold one integer "
            f"subdirectory per version), but it is a file. Received: export_dir={export_dir!r}"
        )
    if not is_local(export_dir):  # an object store: written on the first write
        return export_dir
    existing = export_dir
    while existing and not os.path.exists(existing):  # local: is_local() above
        existing = os.path.dirname(existing)
    existing = existing or os.curdir
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK | os.X_OK):  # local
        raise ValueError(
            f"Cannot write exports under {existing!r} (not a writable directory). Choose "
            f"another export directory. Received: export_dir={export_dir!r}"
        )
    return export_dir


def is_local(path):
    """Whether `path` is on a local filesystem (no `scheme://`, or `file://`)."""
    path = os.fspath(path)
    return "://" not in path or path.startswith("file://")


def model_name(export_dir):
    """The model's name: its directory's name (`saved_models/NAME`)."""
    export_dir = os.fspath(export_dir)
    if not is_local(export_dir):
        return export_dir.rstrip("/").rsplit("/", 1)[-1]
    return os.path.basename(os.path.normpath(os.path.abspath(export_dir)))


def version_of(version_dir):
    """The version of a version directory: an int, or its name if not one."""
    name = os.path.basename(os.path.normpath(version_dir))
    return int(name) if name.isdigit() else name


def next_version(export_dir, version=None):
    """The version to write: `version` checked, or one more than the highest."""
    existing = list_versions(export_dir)
    if version is None:
        return existing[-1] + 1 if existing else 1
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 1:
        raise ValueError(
            "Expected `version` to be a positive integer (TF Serving serves integer "
            f"version directories). Received: version={version!r}"
        )
    if int(version) in existing:
        raise FileExistsError(
            f"Version {version} of {export_dir} exists and is never overwritten. "
            f"Pass version=None for the next free one ({existing[-1] + 1}). "
            f"Received: version={version}"
        )
    return int(version)


# === What a version holds ===

def write_file(path, content):
    """Writes `content` (str or bytes) to `path`, replacing a file there (some
    filesystems, `ram://` among them, append to a file opened again for writing)."""
    if gfile.exists(path):
        gfile.remove(path)
    with gfile.GFile(path, "wb" if isinstance(content, bytes) else "w") as f:
        f.write(content)


def write_labels(version_dir, class_names):
    if not class_names:
        return
    path = os.path.join(version_dir, LABELS_FILE)
    gfile.makedirs(os.path.dirname(path))
    write_file(path, "".join(f"{name}\n" for name in class_names))


def write_model_card(version_dir, card):
    write_file(os.path.join(version_dir, MODEL_CARD), json.dumps(card, indent=2))


def read_model_card(version_dir):
    """Returns the model card of an exported version as a dict ({} if absent).

    Raises:
        ValueError: if the card is not valid JSON.
    """
    path = os.path.join(version_dir, MODEL_CARD)
    if not gfile.exists(path):
        return {}
    with gfile.GFile(path, "r") as f:
        try:
            return json.loads(f.read())
        except ValueError as error:
            raise ValueError(f"Unreadable model card ({error}). Received: {path!r}") \
                from error


def has_model_card(version_dir):
    return gfile.exists(os.path.join(version_dir, MODEL_CARD))


def keras_model_path(version_dir):
    return os.path.join(version_dir, KERAS_MODEL)


def has_keras_model(version_dir):
    return gfile.exists(keras_model_path(version_dir))


def save_keras_model(model, version_dir):
    path = keras_model_path(version_dir)
    gfile.makedirs(os.path.dirname(path))
    model.save(path)  # Keras writes `scheme://` paths through tf.io.gfile


def load_keras_model(version_dir):
    """The Keras model of an exported version, loaded with `safe_mode=True`.

    TF Hub modules inside it load when this process trusts their handles or
    the version's directory (`tl_keras.trust`, `TL_KERAS_TRUSTED_ROOTS`, a
    handle it loaded itself). Nothing stored beside the model (an approval,
    its card) makes it trusted."""
    with safe_loading.trusted_loading(safe_loading.is_trusted(version_dir)):
        return keras.saving.load_model(keras_model_path(version_dir), compile=False,
                                       safe_mode=True)
