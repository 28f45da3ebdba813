"""Models exported by tl_keras, reused as the frozen base of the next task."""

import json
import os

import keras

MODEL_CARD = "model_card.json"
KERAS_MODEL = os.path.join("keras", "model.keras")


def list_versions(model_dir):
    """Returns the integer version directories of `model_dir`, sorted ascending."""
    if not os.path.isdir(model_dir):
        return []
    return sorted(
        int(entry) for entry in os.listdir(model_dir)
        if entry.isdigit() and os.path.isdir(os.path.join(model_dir, entry))
    )


def resolve_version_dir(path):
    """Returns the version directory that `path` means, or None.

    `path` is a version directory (`saved_models/NAME/3`) or a model directory
    holding integer versions (`saved_models/NAME`: its latest version).
    """
    path = os.fspath(path)
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    versions = list_versions(path)
    if versions:
        return os.path.join(path, str(versions[-1]))
    return None


def read_model_card(version_dir):
    """Returns the model card of an exported version as a dict ({} if absent)."""
    card_path = os.path.join(version_dir, MODEL_CARD)
    if not os.path.isfile(card_path):
        return {}
    with open(card_path, encoding="utf-8") as f:
        return json.load(f)


def feature_output(model):
    """Returns the symbolic feature vector of a classifier: its `pooling` output.

    For models not built by `tl_keras.build_model` (no layer named `pooling`),
    the input of the final layer, skipping trailing `Dropout` layers.
    """
    try:
        return model.get_layer("pooling").output
    except ValueError:
        pass
    index = len(model.layers) - 2
    while index > 0 and isinstance(model.layers[index], keras.layers.Dropout):
        index -= 1
    if index < 1:
        raise ValueError(
            "Cannot find the feature part of this exported model: it has no layer "
            "named 'pooling' and no layer before its output layer. Received: "
            f"model={model.name!r}"
        )
    return model.layers[index].output


def load_exported_base(path):
    """Loads the feature part of a model that `tl_keras.export_saved_model` wrote.

    Returns:
        A tuple `(base, info)`: a functional `keras.Model` from raw pixels to the
        pooled feature vector (preprocessing included), and a dict with the
        base's name and lineage.
    """
    version_dir = resolve_version_dir(path)
    if version_dir is None:
        raise ValueError(
            "Not an exported model nor a SavedModel: expected a directory with "
            "integer version subdirectories (saved_models/NAME), one version "
            "directory (saved_models/NAME/1), or a TF Hub module directory holding "
            f"saved_model.pb. Received: base={os.fspath(path)!r}"
        )
    keras_path = os.path.join(version_dir, KERAS_MODEL)
    if not os.path.isfile(keras_path):
        raise ValueError(
            "This SavedModel was not exported by tl_keras (it has no "
            f"{KERAS_MODEL}), so it cannot be reused as a Keras base; pass the "
            "version directory itself to load it as a TF Hub module. "
            f"Received: base={os.fspath(path)!r}"
        )
    card = read_model_card(version_dir)
    model = keras.saving.load_model(keras_path, compile=False, safe_mode=True)
    name = card.get("name") or os.path.basename(os.path.dirname(os.path.abspath(version_dir)))
    version = os.path.basename(os.path.normpath(version_dir))
    base = keras.Model(model.inputs, feature_output(model), name=f"{name}_v{version}")
    source = {
        "name": name,
        "version": int(version) if version.isdigit() else version,
        "path": os.path.abspath(version_dir),
        "base": card.get("base"),
    }
    info = {
        "name": base.name,
        "preprocessing": "none",
        "lineage": [source] + list(card.get("lineage", [])),
    }
    return base, info
