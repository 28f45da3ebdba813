"""SavedModel export in TF Serving's versioned layout, with a model card.

```
export_dir/
  .tmp-3-1f2e...      while writing: TF Serving ignores non-integer names
  3/                  after an atomic rename
    saved_model.pb, variables/
    assets/labels.txt
    model_card.json
    keras/model.keras  for reuse as a base (tl_keras.load_base(export_dir))
```
"""

import datetime
import json
import math
import os
import platform
import shutil
import uuid

import keras
import numpy as np
import tensorflow as tf

from tl_keras.bases import base_info
from tl_keras.bases.exported import KERAS_MODEL
from tl_keras.bases.exported import MODEL_CARD
from tl_keras.bases.exported import list_versions
from tl_keras.models import get_base

LABELS_FILE = os.path.join("assets", "labels.txt")


def export_saved_model(model, export_dir, *, class_names=None, version=None,
                       history=None, metrics=None):
    """Exports `model` as a SavedModel version that TF Serving serves as it is.

    Writes `export_dir/<version>/` atomically: everything goes to a temporary
    sibling whose name TF Serving ignores, then one rename makes it visible.
    An existing version is never overwritten.

    The `serving_default` signature takes `images` (float32,
    `[batch, height, width, 3]`, RGB pixels in [0, 255]; preprocessing is
    inside) and returns `probabilities`, and when `class_names` are given also
    `classes` (class-name strings, best first) and `scores` (their
    probabilities). Loading it needs TensorFlow only: no Keras, no tl_keras.

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
    class_names = _check_class_names(class_names, units)
    version = _resolve_version(export_dir, version)

    os.makedirs(export_dir, exist_ok=True)
    final_dir = os.path.join(export_dir, str(version))
    tmp_dir = os.path.join(export_dir, f".tmp-{version}-{uuid.uuid4().hex[:12]}")
    try:
        _write_saved_model(model, tmp_dir, class_names)
        _write_labels(tmp_dir, class_names)
        card = model_card(model, export_dir, version, class_names, history, metrics)
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


def _check_class_names(class_names, units):
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


# === Signatures ===

def serving_outputs(model, inputs, class_names):
    """The `serving_default` outputs for a batch of [0, 255] pixels (or texts)."""
    probabilities = tf.cast(model(inputs, training=False), tf.float32)
    outputs = {"probabilities": probabilities}
    if class_names:
        ranked = probabilities
        if probabilities.shape[-1] == 1:  # one sigmoid unit: [negative, positive]
            ranked = tf.concat([1.0 - probabilities, probabilities], axis=-1)
        scores, indices = tf.math.top_k(ranked, k=len(class_names))
        outputs["classes"] = tf.gather(tf.constant(class_names), indices)
        outputs["scores"] = scores
    return outputs


def input_name(model):
    """The serving input name: `texts` for a string-input model, else `images`."""
    return "texts" if model.inputs[0].dtype == "string" else "images"


def _write_saved_model(model, path, class_names):
    input_shape = tuple(model.input_shape[1:])
    dtype = tf.string if input_name(model) == "texts" else tf.float32
    archive = keras.export.ExportArchive()
    archive.track(model)

    def serve(inputs):
        return serving_outputs(model, inputs, class_names)

    archive.add_endpoint(
        name="serving_default",
        fn=serve,
        input_signature=[tf.TensorSpec((None,) + input_shape, dtype, name=input_name(model))],
    )
    archive.write_out(path, verbose=False)


def _write_labels(path, class_names):
    if class_names is None:
        return
    labels_path = os.path.join(path, LABELS_FILE)
    os.makedirs(os.path.dirname(labels_path), exist_ok=True)
    with open(labels_path, "w", encoding="utf-8") as f:
        f.write("".join(f"{name}\n" for name in class_names))


# === Model card ===

def _input_card(model):
    if input_name(model) == "texts":
        return {"name": "texts", "shape": list(model.input_shape[1:]), "dtype": "string",
                "signature": "string [batch]"}
    return {"name": "images", "shape": list(model.input_shape[1:]), "dtype": "float32",
            "pixels": "RGB, [0, 255]; preprocessing is inside the model",
            "signature": "float32 [batch, height, width, 3]"}


def model_card(model, export_dir, version, class_names, history=None, metrics=None):
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
        "name": os.path.basename(os.path.normpath(os.path.abspath(export_dir))),
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
        "signatures": {
            "serving_default": {
                "inputs": {input_name(model): _input_card(model)["signature"]},
                "outputs": ["probabilities"] + (["classes", "scores"] if class_names else []),
            }
        },
        "versions": {
            "tl_keras": tl_keras.__version__,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "python": platform.python_version(),
        },
    }
