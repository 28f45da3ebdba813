"""SavedModel export in TF Serving's versioned layout, with a model card.

```
export_dir/
  .tmp-3-PID-1f2e...    while writing: TF Serving ignores non-integer names
  3/                    after an atomic rename
    saved_model.pb, variables/
    assets/labels.txt
    assets.extra/tf_serving_warmup_requests
    model_card.json
    keras/model.keras   for reuse as a base (tl_keras.load_base(export_dir))
```
"""

import datetime
import json
import math
import os
import platform
import shutil
import uuid
import warnings

import keras
import numpy as np
import tensorflow as tf

from tl_keras.bases import base_info
from tl_keras.bases.exported import KERAS_MODEL
from tl_keras.bases.exported import MODEL_CARD
from tl_keras.bases.exported import list_versions
from tl_keras.images import DEFAULT_RESIZE
from tl_keras.images import check_resize
from tl_keras.models import get_base
from tl_keras.signatures import add_signatures
from tl_keras.signatures import check_signatures
from tl_keras.signatures import is_text_model
from tl_keras.signatures import mark_classify_method
from tl_keras.warmup import write_warmup_requests

LABELS_FILE = os.path.join("assets", "labels.txt")


def export_saved_model(model, export_dir, *, class_names=None, version=None,
                       history=None, metrics=None, top_k=5, signatures=None,
                       resize=DEFAULT_RESIZE, warmup=True):
    """Exports `model` as a SavedModel version that TF Serving serves as it is.

    Writes `export_dir/<version>/` atomically: everything goes to a temporary
    sibling whose name TF Serving ignores, then one rename makes it visible.
    An existing version is never overwritten.

    Signatures (see `tl_keras.signatures`), all TensorFlow ops, preprocessing
    and class names inside, loadable with TensorFlow alone (no Keras, no
    tl_keras):

    - `serving_default`: `images` (float32 `[batch, height, width, 3]`, RGB
      pixels in [0, 255]) -> `probabilities`, and with class names `classes`
      (best first, top k) and `scores`;
    - `serving_bytes`: `image_bytes` (encoded JPEG/PNG/GIF/BMP strings, as TF
      Serving's REST API sends `{"b64": ...}`) -> the same outputs;
    - `classify`: TF Serving's Classify API (`inputs`: serialized
      `tf.Example`s with `image/encoded`) -> `classes`, `scores`;
    - `features`: `images` -> `features`, the pooled feature vector.

    A text model (string input) gets `serving_default` on `texts`. The version
    also holds `assets/labels.txt`, `model_card.json`, TF Serving warmup
    requests in `assets.extra/`, and `keras/model.keras` (for reuse as a base).

    Args:
        model: a Keras image classifier (from `tl_keras.build_model`).
        export_dir: the model's directory, such as `"saved_models/flowers"`.
        class_names: names of the output classes, in output order (two names
            for a single sigmoid unit: negative, positive). Defaults to `None`.
        version: the integer version to write. Defaults to `None`: one more
            than the highest existing version (1 for a new model).
        history: a `TwoPhaseHistory` or `keras.callbacks.History` whose final
            values go into the model card's metrics. Defaults to `None`.
        metrics: a dict of extra metrics for the model card (such as test
            accuracy). Defaults to `None`.
        top_k: how many `classes` and `scores` to return. Defaults to `5`
            (all classes when fewer).
        signatures: the signatures to write, a subset of `serving_default`,
            `serving_bytes`, `classify`, `features`. Defaults to `None`: all
            that apply (`classify` needs class names).
        resize: how `serving_bytes` and `classify` fit images to the input
            size: `"crop"`, `"stretch"` or `"pad"`, as in
            `tl_keras.image_dataset`. Defaults to `"crop"`.
        warmup: write TF Serving warmup requests. Defaults to `True`.

    Returns:
        The path of the written version directory.

    Raises:
        ValueError: class names that do not match the output, a bad version,
            or an `export_dir` that is a file.
        FileExistsError: if `version` already exists.

    Example:

    >>> path = tl_keras.export_saved_model(model, "saved_models/flowers",
    ...                                    class_names=class_names)
    >>> path
    'saved_models/flowers/1'
    """
    export_dir = os.fspath(export_dir)
    if os.path.exists(export_dir) and not os.path.isdir(export_dir):
        raise ValueError(
            "Expected `export_dir` to be a directory (it will hold one integer "
            f"subdirectory per version), but it is a file. Received: export_dir={export_dir!r}"
        )
    units = model.output_shape[-1]
    class_names = check_class_names(class_names, units)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"Expected `top_k` to be a positive integer. Received: top_k={top_k!r}")
    check_resize(resize)
    chosen = check_signatures(model, class_names, signatures)
    if class_names is None:
        warnings.warn(
            "Exporting without class_names: serving returns `probabilities` only (no "
            "`classes`, no `scores`, no `classify` signature). Pass class_names=[...] "
            "to serve class names.", UserWarning, stacklevel=2)
    version = _resolve_version(export_dir, version)

    os.makedirs(export_dir, exist_ok=True)
    _remove_abandoned_temporaries(export_dir)
    final_dir = os.path.join(export_dir, str(version))
    tmp_dir = os.path.join(export_dir,
                           f".tmp-{version}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        _write_saved_model(model, tmp_dir, class_names, chosen, top_k, resize)
        _write_labels(tmp_dir, class_names)
        if warmup:
            write_warmup_requests(tmp_dir, _name(export_dir), model.input_shape[1:], chosen,
                                  text=is_text_model(model))
        card = model_card(model, export_dir, version, class_names, history, metrics,
                          signatures=chosen, top_k=top_k, resize=resize)
        with open(os.path.join(tmp_dir, MODEL_CARD), "w", encoding="utf-8") as f:
            json.dump(card, f, indent=2)
        keras_path = os.path.join(tmp_dir, KERAS_MODEL)
        os.makedirs(os.path.dirname(keras_path))
        model.save(keras_path)
        if os.path.exists(final_dir):
            raise FileExistsError(
                f"Version {version} appeared in {export_dir} while exporting; it was "
                f"not overwritten. Received: version={version}"
            )
        os.rename(tmp_dir, final_dir)  # atomic: TF Serving sees all or nothing
    finally:
        if os.path.exists(tmp_dir):
            shutil.rmtree(tmp_dir, ignore_errors=True)
    return final_dir


def check_class_names(class_names, units):
    if class_names is None:
        return None
    names = list(class_names)
    expected = (1, 2) if units == 1 else (units,)
    if len(names) not in expected:
        raise ValueError(
            f"Expected {' or '.join(map(str, expected))} class names for a model with "
            f"{units} output units. Received: {len(names)} class_names={names[:10]!r}"
        )
    if not all(isinstance(name, str) and name for name in names):
        raise ValueError(f"Expected class names to be non-empty strings. Received: "
                         f"class_names={names!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"Expected distinct class names. Received: class_names={names!r}")
    if units == 1 and len(names) == 1:
        names = [f"not_{names[0]}", names[0]]
    return names


def _resolve_version(export_dir, version):
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


def _remove_abandoned_temporaries(export_dir):
    """Removes `.tmp-*` directories left by exports whose process died."""
    for entry in os.listdir(export_dir):
        parts = entry.split("-")
        if not entry.startswith(".tmp-") or len(parts) < 4 or not parts[2].isdigit():
            continue
        try:
            os.kill(int(parts[2]), 0)
        except ProcessLookupError:
            shutil.rmtree(os.path.join(export_dir, entry), ignore_errors=True)
        except OSError:
            pass


def _name(export_dir):
    return os.path.basename(os.path.normpath(os.path.abspath(export_dir)))


def _write_saved_model(model, path, class_names, signatures, top_k, resize):
    archive = keras.export.ExportArchive()
    archive.track(model)
    add_signatures(archive, model, class_names, signatures, top_k=top_k, resize=resize)
    archive.write_out(path, verbose=False)
    mark_classify_method(path)


def _write_labels(path, class_names):
    if class_names is None:
        return
    labels_path = os.path.join(path, LABELS_FILE)
    os.makedirs(os.path.dirname(labels_path), exist_ok=True)
    with open(labels_path, "w", encoding="utf-8") as f:
        f.write("".join(f"{name}\n" for name in class_names))


# === Model card ===

def input_name(model):
    """The serving input name: `texts` for a string-input model, else `images`."""
    return "texts" if is_text_model(model) else "images"


def _input_card(model):
    if input_name(model) == "texts":
        return {"name": "texts", "shape": list(model.input_shape[1:]), "dtype": "string"}
    return {"name": "images", "shape": list(model.input_shape[1:]), "dtype": "float32",
            "pixels": "RGB, [0, 255]; preprocessing is inside the model"}


def _outputs(class_names):
    return ["probabilities"] + (["classes", "scores"] if class_names else [])


SIGNATURE_DOCS = {
    "serving_default": lambda names, key: {
        "inputs": {key: "string [batch]" if key == "texts"
                   else "float32 [batch, height, width, 3], pixels in [0, 255]"},
        "outputs": _outputs(names)},
    "serving_bytes": lambda names, key: {
        "inputs": {"image_bytes": "string [batch]: encoded JPEG, PNG, GIF or BMP"},
        "outputs": _outputs(names)},
    "classify": lambda names, key: {
        "inputs": {"inputs": "string [batch]: serialized tf.Example, image under "
                             "'image/encoded'"},
        "outputs": ["classes", "scores"], "method": "tensorflow/serving/classify"},
    "features": lambda names, key: {
        "inputs": {"images": "float32 [batch, height, width, 3], pixels in [0, 255]"},
        "outputs": ["features"]},
}


def model_card(model, export_dir, version, class_names, history=None, metrics=None, *,
               signatures=("serving_default",), top_k=5, resize=DEFAULT_RESIZE):
    """Returns the model card of an export as a JSON-ready dict."""
    import tl_keras

    card_metrics = {}
    if history is not None:
        for key, values in history.history.items():
            finite = [v for v in values if v is not None and not math.isnan(v)]
            if finite:
                card_metrics[key] = float(finite[-1])
    card_metrics.update({k: float(v) for k, v in (metrics or {}).items()})
    try:
        base = get_base(model)
        info = base_info(base) or {}
        base_card = {"name": info.get("name", base.name),
                     "parameters": int(base.count_params())}
        lineage = list(info.get("lineage", []))
    except ValueError:
        base_card, lineage = None, []
    activation = getattr(getattr(model.layers[-1], "activation", None), "__name__", None)
    return {
        "name": _name(export_dir),
        "version": version,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "model": model.name,
        "base": base_card,
        "lineage": lineage,
        "input": _input_card(model),
        "output": {"units": int(model.output_shape[-1]), "activation": activation},
        "classes": class_names,
        "metrics": card_metrics,
        "parameters": int(model.count_params()),
        "signatures": {name: SIGNATURE_DOCS[name](class_names, input_name(model))
                       for name in signatures},
        "top_k": top_k,
        "resize": resize,
        "versions": {
            "tl_keras": tl_keras.__version__,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "python": platform.python_version(),
        },
    }
