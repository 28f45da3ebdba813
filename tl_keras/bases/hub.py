"""Source: TF Hub image modules (URLs, Kaggle handles, local SavedModel directories).

The module becomes a `tl_keras.HubLayer` inside a `PretrainedBase` on [0, 1]
pixels (`build_model` puts the rescaling in front).
"""

import os
import re

import keras

from tl_keras.bases.base_model import as_pretrained_base
from tl_keras.layers.hub_handles import is_hub_handle
from tl_keras.layers.hub_handles import is_saved_model_dir
from tl_keras.layers.hub_layer import HubLayer

SOURCE = "tf_hub"
_HUB_ARGUMENTS = {"output_key", "signature", "arguments"}


def claims(base):
    """Whether `base` is a TF Hub handle or a local SavedModel directory."""
    if isinstance(base, os.PathLike):
        base = os.fspath(base)
    return is_hub_handle(base) or (isinstance(base, str) and is_saved_model_dir(base))


def load(handle, *, weights=None, input_shape=None, trainable=False, **kwargs):
    """Wraps an image module (a `HubLayer`) as a base on [0, 1] pixels.

    The module's fixed input size is used when it has one; a free-size module
    defaults to 224x224. `kwargs` go to `HubLayer` (`output_key`, `signature`,
    `arguments`).
    """
    if weights != "imagenet":
        raise ValueError(
            "A TF Hub module carries its own trained weights: `weights` (None or a "
            "weights file) applies to keras.applications bases only. Leave it at its "
            f"default. Received: weights={weights!r}, base={os.fspath(handle)!r}")
    unknown = set(kwargs) - _HUB_ARGUMENTS
    if unknown:
        raise ValueError(
            "A TF Hub base takes `output_key`, `signature` and `arguments` only. "
            f"Received: {sorted(unknown)}"
        )
    layer = HubLayer(handle, trainable=trainable, **kwargs)
    spec = layer.module_input_spec
    fixed = tuple(spec.shape[1:]) if spec is not None and spec.shape.rank == 4 else ()
    if spec is not None and (spec.dtype == "string" or spec.shape.rank != 4):
        raise ValueError(
            "This TF Hub module does not take images (batch, height, width, 3): its "
            f"input is {spec}. Text modules go through the text API, not image bases. "
            f"Received: base={os.fspath(handle)!r}"
        )
    if input_shape is None:
        input_shape = tuple(d if d is not None else 224 for d in fixed) or (224, 224, 3)
    elif fixed and any(f is not None and f != int(d) for f, d in zip(fixed, input_shape)):
        sizes = "x".join("any" if d is None else str(d) for d in fixed[:2])
        raise ValueError(
            f"This TF Hub module takes {sizes} images (input {tuple(fixed)}); resize "
            f"the images to that size (image_size=, --image-size), or leave the size "
            f"out to use it. Received: input_shape={tuple(input_shape)}, "
            f"base={os.fspath(handle)!r}")
    inputs = keras.Input(tuple(input_shape))
    outputs = layer(inputs)
    return as_pretrained_base(keras.Model(inputs, outputs), source=SOURCE,
                              handle=os.fspath(handle), preprocessing="unit",
                              name=_module_name(handle))


def _module_name(handle):
    parts = [p for p in re.split(r"[/\\]+", os.fspath(handle)) if p and not p.isdigit()]
    name = re.sub(r"[^A-Za-z0-9_]+", "_", parts[-1] if parts else "hub_module").strip("_")
    return name or "hub_module"
