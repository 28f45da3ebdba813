"""The phase-2 activation cache: the frozen bottom of the base, computed once.

Phase 2 unfreezes the base from `fine_tune_at`; the layers below stay frozen,
BatchNorm runs in inference mode, and without augmentation nothing random
sits in front, so their output for an example is the same in every epoch.
`split_at_cut` cuts the model there, by its own parts: a bottom model (raw
inputs to the activations at the cut) and a top model (those activations to
the outputs: the unfrozen top of the base, pooling, the head), whose layers
are the model's own. Phase 2 then computes the bottom once and trains the top
on it, and the full model holds the trained weights.
"""

import collections

import keras
import numpy as np

from tl_keras.compat import model_between
from tl_keras.models.transfer_model import TransferModel
from tl_keras.training.freezing import fine_tuning_units
from tl_keras.training.freezing import leaf_layers

# Layers that act randomly in training even when frozen.
_RANDOM_LAYERS = (keras.layers.Dropout, keras.layers.GaussianNoise,
                  keras.layers.GaussianDropout, keras.layers.AlphaDropout,
                  keras.layers.SpatialDropout1D, keras.layers.SpatialDropout2D,
                  keras.layers.SpatialDropout3D)

def _inner_model_holding(base, layer):
    """The model directly in `base.layers` whose own layers hold `layer`, or None."""
    for inner in base.layers:
        if isinstance(inner, keras.Model) and layer in inner.layers:
            return inner
    return None


def _around(base, inner, inner_bottom, inner_top):
    """The base's bottom and top when its cut is inside `inner`: the base's own
    layers before `inner` then `inner_bottom`, and `inner_top` then the base's
    layers after `inner` (the layers are the base's own; their new calls share
    the weights). Checked on one input: `(None, None)` when the base is not such
    a chain and the two do not compute what the base does."""
    layers = [layer for layer in base.layers if not isinstance(layer, keras.layers.InputLayer)]
    position = layers.index(inner)
    images = keras.Input(base.input_shape[1:])
    x = images
    for layer in layers[:position]:
        x = layer(x)
    bottom = keras.Model(images, inner_bottom(x))
    activations = keras.Input(inner_top.input_shape[1:])
    y = inner_top(activations)
    for layer in layers[position + 1:]:
        y = layer(y)
    top = keras.Model(activations, y)
    probe = keras.random.uniform((1,) + tuple(base.input_shape[1:]), 0.0, 255.0, seed=0)
    try:
        same = np.allclose(keras.ops.convert_to_numpy(top(bottom(probe))),
                           keras.ops.convert_to_numpy(base(probe)), rtol=1e-4, atol=1e-5)
    except (ValueError, TypeError):
        same = False
    return (bottom, top) if same else (None, None)


# bottom: inputs -> activations at the cut; top: activations -> outputs;
# upper: activations -> the feature vector (the top without the head).
CutModels = collections.namedtuple("CutModels", "bottom top upper cut_layer")


def split_at_cut(model, fine_tune_index):
    """Cuts `model` where phase 2's unfrozen part of its base begins.

    Args:
        model: a `tl_keras.TransferModel` whose `activation_cut_reason()` is
            None (an `ImageClassifier` without augmentation).
        fine_tune_index: the index, in the base's leaf layers, of the first
            unfrozen layer (`tl_keras.training.freezing.fine_tune_index`).

    Returns:
        `(CutModels(bottom, top, upper, cut_layer), None)`, or `(None, reason)` when
        the activations at the cut are not fixed or the graph has no clean
        cut there.
    """
    if not isinstance(model, TransferModel):
        return None, ("not a tl_keras model (build it with tl_keras.build_model), so where "
                      "its base and head are is unknown")
    reason = model.activation_cut_reason()
    if reason is not None:
        return None, reason
    base = model.base
    leaves = fine_tuning_units(base)
    if len(leaves) == 1:
        return None, ("the base is one layer (a TF Hub module), unfrozen whole: nothing "
                      "below the cut to cache")
    if fine_tune_index == 0:
        return None, "fine_tune_at unfreezes the whole base: nothing below the cut to cache"
    cut_layer = leaves[fine_tune_index]
    random = [layer.name for layer in leaves[:fine_tune_index]
              if isinstance(layer, _RANDOM_LAYERS)]
    if random:
        return None, f"a random layer sits below the cut ({random[0]})"
    if cut_layer not in leaf_layers(base):
        return None, (f"the cut ({cut_layer.name}) is a block inside a layer of the base, "
                      "which runs all its blocks in one call")
    holder = base if cut_layer in base.layers else _inner_model_holding(base, cut_layer)
    if holder is None:
        return None, (f"the cut ({cut_layer.name}) is inside a model nested more than one "
                      "level deep in the base")
    try:
        cut = cut_layer.input
        if not isinstance(cut, keras.KerasTensor):
            raise ValueError("several inputs")
        base_bottom = keras.Model(holder.inputs, cut)
        base_top = model_between(cut, holder.output)
    except ValueError:
        return None, (f"the graph has no clean cut at {cut_layer.name} (a branch or a "
                      "residual connection crosses it); fine_tune_at at a block boundary "
                      "allows one")
    if holder is not base:  # an exported model used as a base: the cut is in its inner model
        base_bottom, base_top = _around(base, holder, base_bottom, base_top)
        if base_bottom is None:
            return None, (f"the cut ({cut_layer.name}) is inside a model nested in the base, "
                          "and the base is not a chain of layers around it")
    images = keras.Input(model.input_shape[1:], name="images")
    bottom = keras.Model(images, base_bottom(model.preprocessing(images), training=False),
                         name=f"{model.name}_bottom")
    activations = keras.Input(cut.shape[1:], name="activations")
    pooling = model.pooling.__class__.from_config(model.pooling.get_config())  # no weights
    features = pooling(base_top(activations))
    top = keras.Model(activations, model.head(features), name=f"{model.name}_top")
    upper = keras.Model(activations, features, name=f"{model.name}_upper")
    return CutModels(bottom, top, upper, cut_layer), None
