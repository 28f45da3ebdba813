"""Freezing the base (phase 1) and unfreezing its top (phase 2), BatchNorm kept frozen."""

import keras
import numpy as np

from tl_keras.models.parts import get_base
from tl_keras.training.losses import recompile_as_is

DEFAULT_FINE_TUNE_AT = 2 / 3  # unfreeze the top third of the base's layers


def freeze_base(model, *, recompile=True):
    """Freezes the whole base of `model` (phase 1).

    Args:
        model: a model built by `tl_keras.build_model` (or `build_text_model`).
        recompile: recompile a compiled model with its own compile settings
            (and a fresh optimizer), so training never runs with a stale
            `trainable` state. Defaults to `True`.

    Returns:
        The base.

    Example:

    >>> tl_keras.freeze_base(model).trainable
    False
    """
    base = get_base(model)
    base.trainable = False
    if recompile:
        recompile_as_is(model)
    return base


def unfreeze_base(model, fine_tune_at=None, *, recompile=True):
    """Unfreezes the top of the base of `model` for fine-tuning (phase 2).

    Layers from `fine_tune_at` on become trainable; the layers below it stay
    frozen, and every BatchNormalization layer stays frozen wherever it is, so
    it keeps running in inference mode with its pre-trained statistics.
    Nested models inside the base (an exported model used as a base) are
    flattened: positions count their innermost layers. A layer that runs a
    stack of blocks (a KerasHub ViT's encoder) counts as its blocks, so the
    top third of a ViT is its top transformer blocks, not its pooling.

    Args:
        model: a model built by `tl_keras.build_model`.
        fine_tune_at: where unfreezing starts: a layer name, a layer index
            (negative counts from the top), or a fraction in [0, 1) of the
            base's layers (`0.0` unfreezes all). Defaults to `None`: `2/3`,
            the top third. A base of one layer (a TF Hub module) is unfrozen
            as a whole.
        recompile: recompile a compiled model with its own compile settings.
            Defaults to `True`.

    Returns:
        The names of the layers with weights that are now trainable.

    Raises:
        ValueError: if `fine_tune_at` names no layer of the base, or is out of
            range.

    Example:

    >>> tl_keras.unfreeze_base(model, fine_tune_at="block_16_project")
    ['block_16_project', 'Conv_1']
    """
    base = get_base(model)
    layers = fine_tuning_units(base)
    start = fine_tune_index(layers, fine_tune_at, base.name)
    base.trainable = True
    unfrozen = []
    for index, layer in enumerate(layers):
        trainable = index >= start and not isinstance(
            layer, keras.layers.BatchNormalization
        )
        layer.trainable = trainable
        if trainable and layer.weights:
            unfrozen.append(layer.name)
    if recompile:
        recompile_as_is(model)
    return unfrozen


def leaf_layers(model):
    """The innermost layers of a base, in order (nested models flattened)."""
    if not isinstance(model, keras.Model):  # a single-layer base (an embedding)
        return [model]
    leaves = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            leaves.extend(leaf_layers(layer))
        else:
            leaves.append(layer)
    return leaves


def fine_tuning_units(model):
    """The units phase 2 unfreezes from the top: the leaf layers, with a layer
    that runs a stack of blocks (a KerasHub ViT's encoder, holding every
    transformer block in one list) replaced by its blocks and its other
    sublayers, in the order it created them. A layer is expanded only when
    those sublayers hold all its weights, so nothing is left at the layer's
    own trainable state."""
    units = []
    for layer in leaf_layers(model):
        units.extend(_stack_blocks(layer) or [layer])
    return units


def _stack_blocks(layer):
    """`layer`'s sublayers in creation order when one of its attributes is a
    list of two or more layers with weights and the sublayers hold every
    weight of `layer`; else None."""
    if isinstance(layer, keras.Model) or not layer.weights:
        return None
    sublayers, stacked = [], False
    for name, value in vars(layer).items():  # attributes, in the order they were set
        if name.startswith("_"):  # Keras's own bookkeeping
            continue
        if isinstance(value, keras.layers.Layer):
            sublayers.append(value)
        elif isinstance(value, (list, tuple)) and value and all(
                isinstance(item, keras.layers.Layer) for item in value):
            sublayers.extend(value)
            stacked = stacked or sum(1 for item in value if item.weights) >= 2
    sublayers = list({id(sublayer): sublayer for sublayer in sublayers}.values())
    if not stacked:
        return None
    held = {id(weight) for sublayer in sublayers for weight in sublayer.weights}
    if any(id(weight) not in held for weight in layer.weights):
        return None
    return sublayers


def fine_tune_index(layers, fine_tune_at, base_name):
    """The index in `layers` where unfreezing starts, checked."""
    count = len(layers)
    if count == 1:  # a TF Hub module: no layers to cut, unfrozen as a whole
        return 0
    if fine_tune_at is None:
        fine_tune_at = DEFAULT_FINE_TUNE_AT
    if isinstance(fine_tune_at, str):
        names = [layer.name for layer in layers]
        if fine_tune_at not in names:
            raise ValueError(
                f"No layer named {fine_tune_at!r} in base '{base_name}'. Its layers run "
                f"from {names[0]!r} to {names[-1]!r} ({count} layers; see "
                f"tl_keras.get_base(model).summary()). Received: fine_tune_at={fine_tune_at!r}"
            )
        return names.index(fine_tune_at)
    if isinstance(fine_tune_at, bool):
        pass
    elif isinstance(fine_tune_at, (int, np.integer)):
        if -count <= fine_tune_at < count:
            return int(fine_tune_at) % count
    elif isinstance(fine_tune_at, float) and 0.0 <= fine_tune_at < 1.0:
        return int(round(fine_tune_at * count))
    raise ValueError(
        "Expected `fine_tune_at` to be a layer name, a layer index in "
        f"[{-count}, {count}) or a fraction in [0, 1) of the {count} layers of base "
        f"'{base_name}'. Received: fine_tune_at={fine_tune_at!r}"
    )
