"""Source: models exported by tl_keras, reused as the frozen base of the next task.

`tl_keras.load_base("saved_models/NAME")` (its latest version) or
`"saved_models/NAME/2"` returns the feature part of that export: raw pixels in
(its preprocessing inside), its feature vector out. Its lineage is the
exported model itself, then the chain it descends from, read from the model.

The feature vector is what a tl_keras model's head sees (`feature_model()`).
For a model you built yourself (a plain `keras.Model`), the documented
fallback: the output of the layer before its last one, skipping `Dropout`.
"""

import os

import keras

from tl_keras.bases.base_model import as_pretrained_base
from tl_keras.io import layout
from tl_keras.io.library_records import resolve_reference
from tl_keras.io.library_records import retired_note
from tl_keras.log import say

SOURCE = "exported"


def claims(base):
    """Whether `base` is a directory holding a tl_keras export (a version with
    its Keras model)."""
    if not isinstance(base, (str, os.PathLike)):
        return False
    try:
        base = resolve_reference(base)
    except ValueError:
        return "@" in os.fspath(base)  # a label it lacks: load() says which it has
    if not layout.gfile.isdir(os.fspath(base)):
        return False
    version_dir = layout.resolve_version_dir(base)
    return version_dir is not None and layout.has_keras_model(version_dir)


def load(base, *, weights=None, input_shape=None, trainable=False, **kwargs):
    """Loads the feature part of an export as a `PretrainedBase`."""
    if weights != "imagenet":
        raise ValueError(
            "An exported model carries its own trained weights: `weights` (None or a "
            "weights file) applies to keras.applications bases only. Leave it at its "
            f"default. Received: weights={weights!r}, base={os.fspath(base)!r}")
    if kwargs:
        raise ValueError(
            "Constructor arguments only apply to keras.applications bases, not to "
            f"an exported model. Received: base={os.fspath(base)!r}, kwargs={kwargs}"
        )
    base = resolve_reference(base)
    version_dir = layout.resolve_version_dir(base)
    if version_dir is None or not layout.has_keras_model(version_dir):
        raise ValueError(directory_problem(base))
    note = retired_note(version_dir)
    if note:
        say(note)
    newer = [v for v in layout.broken_versions(base) if v > layout.version_of(version_dir)]
    if newer and not layout.is_version_dir(base):
        say(f"Skipped version(s) {newer} of {os.fspath(base)}: no saved_model.pb (broken or "
            f"unfinished exports); using version {layout.version_of(version_dir)}.")
    model = layout.load_keras_model(version_dir)
    card = layout.read_model_card(version_dir)
    name = card.get("name") or layout.model_name(os.path.dirname(os.path.abspath(version_dir)))
    version = layout.version_of(version_dir)
    features = _feature_model(model, base)
    expected = tuple(features.input_shape[1:])
    if input_shape is not None and tuple(input_shape) != expected:
        raise ValueError(
            f"An exported model keeps the input shape it was trained with, {expected}. "
            "Resize images to that size, or pass input_shape=None. "
            f"Received: base={os.fspath(base)!r}, input_shape={tuple(input_shape)}"
        )
    source = {"name": name, "version": version, "path": os.path.abspath(version_dir),
              "base": card.get("base")}
    lineage = [source] + _lineage_of(model, card)
    return as_pretrained_base(features, source=SOURCE, handle=os.fspath(base),
                              preprocessing="none", lineage=lineage,
                              name=f"{name}_v{version}")


def _feature_model(model, base):
    """The model's own feature part; for a model built by hand (the documented
    fallback), the output of the layer before its last one, skipping Dropout."""
    if callable(getattr(model, "feature_model", None)):  # a TransferModel knows its own
        return model.feature_model()
    index = len(model.layers) - 2
    while index > 0 and isinstance(model.layers[index], keras.layers.Dropout):
        index -= 1
    if index < 1:
        raise ValueError(
            "Cannot find the feature part of this exported model: it is not a tl_keras "
            "model and has no layer before its output layer. Received: "
            f"base={os.fspath(base)!r}"
        )
    return keras.Model(model.inputs, model.layers[index].output)


def _lineage_of(model, card):
    """What the exported model descends from: the model's own record (it
    survives a .keras round trip), else the card's."""
    lineage = getattr(model, "lineage", None)
    return list(lineage) if lineage else list(card.get("lineage", []))


def directory_problem(path):
    """Why a directory is not a base, for the error message."""
    if layout.resolve_version_dir(path) is None:
        return (
            "Not an exported model nor a SavedModel: expected a directory with "
            "integer version subdirectories (saved_models/NAME), one version "
            "directory (saved_models/NAME/1), or a TF Hub module directory holding "
            f"saved_model.pb. Received: base={os.fspath(path)!r}"
        )
    return (
        "This SavedModel was not exported by tl_keras (it has no "
        f"{layout.KERAS_MODEL}), so it cannot be reused as a Keras base; pass the "
        "version directory itself to load it as a TF Hub module. "
        f"Received: base={os.fspath(path)!r}"
    )
