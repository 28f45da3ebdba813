"""Phase 2 as LoRA adapters on a KerasHub transformer backbone.

KerasHub's `Backbone.enable_lora(rank)` freezes the backbone and adds trainable
low-rank factors to the query and value projections of its attention layers. A
base without such layers (a CNN) is refused before any training.
"""

from tl_keras.models.parts import get_base


def kerashub_backbone(base):
    """The KerasHub `Backbone` inside `base`, or None."""
    try:
        import keras_hub
    except ImportError:
        return None
    for layer in [base] + list(getattr(base, "layers", ())):
        if isinstance(layer, keras_hub.models.Backbone):
            return layer
    return None


def attention_projections(backbone):
    """The paths of the weights of the layers LoRA adapts (KerasHub's defaults:
    the query and value projections of each attention layer)."""
    names = backbone.default_lora_layer_names()
    return [w.path for w in backbone.weights
            if any(f"/{name}/" in f"/{w.path}" for name in names)]


def lora_targets(model, rank):
    """The backbone and the paths of the kernels LoRA would adapt, checked."""
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ValueError(f"Expected `lora_rank` to be an integer >= 1. Received: "
                         f"lora_rank={rank!r}")
    base = get_base(model)
    backbone = kerashub_backbone(base)
    if backbone is None:
        raise ValueError(
            "LoRA adapts the attention layers of a KerasHub backbone, and this base is "
            f"not one ('{base.name}'). Fine-tune the top of the base instead (no "
            f"`FineTuning.lora_rank`). Received: lora_rank={rank}")
    targets = attention_projections(backbone)
    if not targets:
        raise ValueError(
            f"'{backbone.name}' has no attention layers to adapt with LoRA (KerasHub "
            f"looks for layers named {backbone.default_lora_layer_names()}): it is not "
            "a transformer. Fine-tune the "
            f"top of the base instead (no `FineTuning.lora_rank`). Received: lora_rank={rank}")
    return backbone, targets


def enable_lora(model, rank):
    """Freezes the base but for LoRA factors of `rank` on its attention layers;
    returns how many layers were adapted."""
    backbone, _ = lora_targets(model, rank)
    base = get_base(model)
    base.trainable = True
    for layer in base.layers:
        layer.trainable = layer is backbone
    backbone.enable_lora(rank)
    return sum(1 for w in backbone.trainable_weights if w.path.endswith("lora_kernel_a"))
