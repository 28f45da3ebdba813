"""Asking any model for its base: a `TransferModel` says; others are looked at.

tl_keras's own models (`ImageClassifier`, `TextClassifier`) hold their parts
as attributes. A model you built yourself keeps working through a documented
fallback: its base is its one nested `keras.Model` (other than a model named
`augmentation`), or for a text model its one `HubLayer` or its `Embedding`
named `embedding`. Such a model trains in two phases (without the feature
cache) and exports (without the `features` signature and lineage).
"""

import keras

from tl_keras.layers.hub_layer import HubLayer
from tl_keras.models.transfer_model import TransferModel


def get_base(model):
    """Returns the pre-trained base of a model.

    Args:
        model: a `tl_keras.TransferModel` (from `build_model` or
            `build_text_model`, or loaded back from its `.keras` file), or a
            `keras.Model` of your own with one nested base model (see the
            fallback in this module's docstring).

    Returns:
        The base (a `keras.Model`, or the embedding layer of a text model).

    Raises:
        ValueError: if `model` is not a `TransferModel` and has no nested base,
            or more than one.

    Example:

    >>> tl_keras.get_base(model).trainable
    False
    """
    if isinstance(model, TransferModel):
        return model.base
    if not isinstance(model, keras.Model):
        raise ValueError(f"Expected a keras.Model. Received: model={model!r}")
    candidates = [
        layer for layer in model.layers
        if isinstance(layer, keras.Model) and layer.name != "augmentation"
    ]
    if not candidates:  # a text model: its embedding (word vectors or a TF Hub module)

        candidates = [layer for layer in model.layers if isinstance(layer, HubLayer)
                      or (layer.name == "embedding"
                          and isinstance(layer, keras.layers.Embedding))]
    if len(candidates) != 1:
        found = [layer.name for layer in candidates]
        raise ValueError(
            "Expected a tl_keras model, or a model with exactly one nested base "
            f"model. Found {len(found)}: {found}. Received: model={model.name!r}"
        )
    return candidates[0]


def class_names_of(model):
    """The class names a model carries, or None."""
    return model.class_names if isinstance(model, TransferModel) else None
