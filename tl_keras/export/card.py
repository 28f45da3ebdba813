"""The model card of an export: what it is, where it came from, how to call it."""

import datetime
import math
import platform

import keras
import tensorflow as tf

from tl_keras.bases.licenses import license_of
from tl_keras.data import fingerprints
from tl_keras.export.signatures import is_text_model
from tl_keras.io.layout import model_name
from tl_keras.layers.hub_handles import is_hub_handle
from tl_keras.layers.hub_layer import HubLayer
from tl_keras.layers.text_preprocessor import TextPreprocessor
from tl_keras.models.parts import get_base
from tl_keras.models.transfer_model import TransferModel
from tl_keras.version import __version__


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


def model_card(model, export_dir, version, class_names, card, serving, *,
               signatures=("serving_default",)):
    """Returns the model card of an export as a JSON-ready dict, from the model,
    a `ModelCard` (`card`) and the `ServingOptions` (`serving`)."""
    card_metrics = {}
    history = card.history
    if history is not None:
        kept = getattr(history, "kept_epoch", None)  # the epoch whose weights ship
        for key, values in history.history.items():
            if kept is not None and kept < len(values) and values[kept] is not None \
                    and not math.isnan(values[kept]):
                card_metrics[key] = float(values[kept])
                continue
            finite = [v for v in values if v is not None and not math.isnan(v)]
            if finite:
                card_metrics[key] = float(finite[-1])
    card_metrics.update({k: float(v) for k, v in (card.metrics or {}).items()})
    base_card, lineage = _base_card(model)
    if isinstance(model, TransferModel):
        activation = model.activation
    else:
        activation = getattr(getattr(model.layers[-1], "activation", None), "__name__", None)
    return {
        "name": model_name(export_dir),
        "version": version,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "model": model.name,
        "base": base_card,
        "lineage": lineage,
        "adaptations": model.adaptations if isinstance(model, TransferModel) else [],
        "input": _input_card(model),
        "output": {"units": int(model.output_shape[-1]), "activation": activation},
        "classes": class_names,
        "metrics": card_metrics,
        "test": card.test_report,
        "training_data": _training_data(card, class_names),
        "intended_use": card.intended_use,
        "limitations": card.limitations,
        "parameters": int(model.count_params()),
        "signatures": {name: SIGNATURE_DOCS[name](class_names, input_name(model))
                       for name in signatures},
        "top_k": serving.top_k,
        "resize": serving.resize,
        "serving_op_packages": op_packages(model),
        "keras_file_loads": external_modules(model),
        "versions": {
            "tl_keras": __version__,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "python": platform.python_version(),
        },
    }


def op_packages(model):
    """The Python packages whose op libraries the export's graph needs beyond core
    TensorFlow: `["tensorflow-text"]` for a KerasHub tokenizer inside the model.
    TF Serving needs a model server built with those ops."""

    found = any(isinstance(layer, TextPreprocessor) for layer in _all_layers(model))
    return ["tensorflow-text"] if found else []


def _all_layers(model):
    stack, found = [model], []
    while stack:
        layer = stack.pop()
        found.append(layer)
        stack.extend(getattr(layer, "layers", ()))
    return found


def external_modules(model):
    """The SavedModels the export's `.keras` file loads from outside itself when
    it is loaded (a `HubLayer`'s module, read again at its handle): one entry
    each, with whether another machine can reach the handle. The SavedModel
    TF Serving loads holds the module's graph and needs none of them."""
    modules = []
    for layer in _all_layers(model):
        if isinstance(layer, HubLayer):
            handle = str(layer.handle)
            reachable = is_hub_handle(handle) or (
                "://" in handle and not handle.startswith(("file://", "ram://")))
            modules.append({
                "layer": layer.name, "handle": handle, "reachable_elsewhere": reachable,
                "note": ("downloaded or read at this handle wherever the .keras file is "
                         "loaded" if reachable else
                         "a path on the exporting machine: copy the module there, "
                         "or load the SavedModel instead"),
                "safe_mode": "refused unless trusted (tl_keras.library.trust)"})
    return modules


def _base_card(model):
    """The base's card entry and the lineage: from a tl_keras model itself; for
    a model of your own, its nested base's name, no lineage."""
    if isinstance(model, TransferModel):
        identity = model.base_identity
        return ({"name": identity["name"], "source": identity["source"],
                 "handle": identity["handle"], "version": identity.get("version"),
                 "parameters": int(model.base.count_params()),
                 "license": license_of(identity)}, identity["lineage"])
    try:
        base = get_base(model)
    except ValueError:
        return None, []
    return {"name": base.name, "parameters": int(base.count_params())}, []


def _training_data(card, class_names):
    """The card's `training_data`: of the data given, else what the history of
    `fit_two_phase` recorded of the data it trained on, else None."""
    if card.training_data is not None:
        return fingerprints.data_card(card.training_data, class_names)
    return getattr(card.history, "training_data", None)
