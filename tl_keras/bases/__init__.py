"""Where bases come from: named keras.applications models and exported models.

`load_base` accepts a registry name (`tl_keras.list_bases()`), a directory
written by `tl_keras.export_saved_model`, or a `keras.Model` of your own.
"""

import os
import re

import keras

from tl_keras.bases.applications import load_application_base
from tl_keras.bases.exported import KERAS_MODEL
from tl_keras.bases.exported import load_exported_base
from tl_keras.bases.exported import resolve_version_dir
from tl_keras.bases.hub import HubLayer
from tl_keras.bases.hub import is_hub_handle
from tl_keras.bases.hub import is_saved_model_dir
from tl_keras.bases.registry import BaseSpec
from tl_keras.bases.registry import get_spec
from tl_keras.bases.registry import is_registered
from tl_keras.bases.registry import list_bases
from tl_keras.bases.registry import register_base
from tl_keras.bases.registry import unknown_base_message

_INFO_ATTR = "_tl_keras_base_info"


def load_base(base, *, weights="imagenet", input_shape=None, trainable=False, **kwargs):
    """Loads a pre-trained base, frozen, without its classifier and pooling.

    Args:
        base: a registry name from `tl_keras.list_bases()` (`"resnet50"`), the
            directory of a model exported by `tl_keras.export_saved_model`
            (`"saved_models/NAME"` for its latest version, or
            `"saved_models/NAME/2"`), a TF Hub image module (a tfhub.dev or
            Kaggle URL, a Kaggle Models handle, or a local module directory;
            it takes [0, 1] pixels and `build_model` rescales to that), or a
            `keras.Model` of your own that takes [0, 255] RGB pixels.
        weights: `"imagenet"`, `None` (random initialization) or the path to a
            weights file (`.h5` or `.weights.h5`). Only for registry names.
            Defaults to `"imagenet"`.
        input_shape: `(height, width, 3)`. Defaults to `None`: the base's
            default size (224x224 for most, 299x299 for Inception/Xception).
        trainable: whether the returned base is trainable. Defaults to `False`.
        **kwargs: passed to the `keras.applications` constructor, for example
            `alpha=0.25` for the MobileNets; for a TF Hub module, to
            `tl_keras.HubLayer` (`output_key`, `signature`, `arguments`).

    Returns:
        A `keras.Model` from preprocessed pixels (registry names) or raw pixels
        (exported models) to a feature map or vector.

    Raises:
        ValueError: an unknown base (the message lists close names), an input
            shape below the base's minimum, or a weights file that does not fit.
        FileNotFoundError: `weights` is a path that does not exist.
        tl_keras.errors.DownloadError: the ImageNet weights could not be
            downloaded; the message names the file to pass as `weights=PATH`.

    Example:

    >>> base = tl_keras.load_base("mobilenet_v2", weights=None,
    ...                           input_shape=(96, 96, 3))
    >>> base.trainable
    False
    """
    model, _ = resolve_base(
        base, weights=weights, input_shape=input_shape, trainable=trainable, **kwargs
    )
    return model


def resolve_base(base, *, weights="imagenet", input_shape=None, trainable=False, **kwargs):
    """Like `load_base`, and also returns the base's info dict.

    The info holds `name`, `preprocessing` (a `tl_keras.preprocessing` mode)
    and `lineage` (the exported models this base descends from).
    """
    if isinstance(base, keras.Model):
        model = base
        info = getattr(model, _INFO_ATTR, None) or {
            "name": model.name, "preprocessing": "none", "lineage": [],
        }
    elif is_registered(base):
        spec = get_spec(base)
        model = load_application_base(
            spec, weights=weights, input_shape=input_shape, **kwargs
        )
        model.name = spec.name
        info = {"name": spec.name, "preprocessing": spec.preprocessing, "lineage": []}
    elif _is_exported_model(base):
        _reject_application_arguments(base, kwargs)
        model, info = load_exported_base(base)
        _check_exported_input_shape(base, model, input_shape)
    elif is_hub_handle(base) or (isinstance(base, (str, os.PathLike))
                                 and is_saved_model_dir(base)):
        model, info = load_hub_base(base, input_shape=input_shape, trainable=trainable,
                                    **kwargs)
    elif isinstance(base, (str, os.PathLike)) and os.path.isdir(base):
        model, info = load_exported_base(base)  # raises: says what is missing
    else:
        raise ValueError(unknown_base_message(base))
    model.trainable = trainable
    object.__setattr__(model, _INFO_ATTR, info)
    return model, info


def _is_exported_model(base):
    if not isinstance(base, (str, os.PathLike)) or not os.path.isdir(base):
        return False
    version_dir = resolve_version_dir(base)
    return version_dir is not None and os.path.isfile(os.path.join(version_dir, KERAS_MODEL))


def load_hub_base(handle, *, input_shape=None, trainable=False, **kwargs):
    """Wraps an image module (a `HubLayer`) as a base model on [0, 1] pixels.

    The module's fixed input size is used when it has one; a free-size module
    defaults to 224x224. `kwargs` go to `HubLayer` (`output_key`, `signature`,
    `arguments`).
    """
    unknown = set(kwargs) - {"output_key", "signature", "arguments"}
    if unknown:
        raise ValueError(
            "A TF Hub base takes `output_key`, `signature` and `arguments` only. "
            f"Received: {sorted(unknown)}"
        )
    layer = HubLayer(handle, trainable=trainable, **kwargs)
    spec = layer._module_input_spec
    fixed = tuple(spec.shape[1:]) if spec is not None and spec.shape.rank == 4 else ()
    if spec is not None and (spec.dtype == "string" or spec.shape.rank != 4):
        raise ValueError(
            "This TF Hub module does not take images (batch, height, width, 3): its "
            f"input is {spec}. Text modules go through the text API, not image bases. "
            f"Received: base={os.fspath(handle)!r}"
        )
    if input_shape is None:
        input_shape = tuple(d if d is not None else 224 for d in fixed) or (224, 224, 3)
    inputs = keras.Input(tuple(input_shape))
    outputs = layer(inputs)  # checks the size against a fixed-size module
    name = _module_name(handle)
    model = keras.Model(inputs, outputs, name=name)
    return model, {"name": name, "preprocessing": "unit", "lineage": [],
                   "handle": os.fspath(handle)}


def _module_name(handle):
    parts = [p for p in re.split(r"[/\\]+", os.fspath(handle)) if p and not p.isdigit()]
    name = re.sub(r"[^A-Za-z0-9_]+", "_", parts[-1] if parts else "hub_module").strip("_")
    return name or "hub_module"


def base_info(base):
    """Returns the info dict that `load_base` attached to `base`, or None."""
    return getattr(base, _INFO_ATTR, None)


def _reject_application_arguments(base, kwargs):
    if kwargs:
        raise ValueError(
            "Constructor arguments only apply to keras.applications bases, not to "
            f"an exported model. Received: base={os.fspath(base)!r}, kwargs={kwargs}"
        )


def _check_exported_input_shape(base, model, input_shape):
    expected = tuple(model.input_shape[1:])
    if input_shape is not None and tuple(input_shape) != expected:
        raise ValueError(
            f"An exported model keeps the input shape it was trained with, {expected}. "
            "Resize images to that size, or pass input_shape=None. "
            f"Received: base={os.fspath(base)!r}, input_shape={tuple(input_shape)}"
        )


__all__ = [
    "BaseSpec", "HubLayer", "base_info", "get_spec", "list_bases", "load_base",
    "register_base", "resolve_base",
]
