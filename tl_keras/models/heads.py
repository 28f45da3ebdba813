"""Arguments of the new head, its pooling, and the augmentation in front of the base."""

import keras

POOLINGS = ("avg", "max", "flatten")
ACTIVATIONS = ("softmax", "sigmoid", "linear", None)


def check_head_arguments(num_classes, *, hidden_units, dropout, pooling, activation):
    """Raises a clear error for head arguments that cannot work."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(
            "Expected `num_classes` to be a positive integer (2 or more for softmax; "
            f"1 with activation='sigmoid' for binary). Received: num_classes={num_classes!r}"
        )
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"Expected `activation` to be one of {ACTIVATIONS} (None or 'linear' for "
            f"logits). Received: activation={activation!r}"
        )
    if num_classes == 1 and activation == "softmax":
        raise ValueError(
            "A softmax over one class always outputs 1.0. Use num_classes=2 with "
            "activation='softmax', or num_classes=1 with activation='sigmoid'. "
            "Received: num_classes=1, activation='softmax'"
        )
    if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"Expected `dropout` in [0, 1). Received: dropout={dropout!r}")
    if pooling not in POOLINGS:
        raise ValueError(f"Expected `pooling` in {POOLINGS}. Received: pooling={pooling!r}")
    units = tuple(hidden_units or ())
    if any(isinstance(u, bool) or not isinstance(u, int) or u < 1 for u in units):
        raise ValueError(
            "Expected `hidden_units` to be a sequence of positive integers. "
            f"Received: hidden_units={hidden_units!r}"
        )
    return units


def pooling_layer(pooling, feature_rank):
    """The layer that turns the base's output into the feature vector.

    A feature map `(batch, h, w, c)` is pooled (`"avg"`, `"max"`) or flattened;
    a base that already outputs a vector (an exported model, a feature-vector
    module) gets an identity.
    """
    if feature_rank == 4:
        return {
            "avg": keras.layers.GlobalAveragePooling2D,
            "max": keras.layers.GlobalMaxPooling2D,
            "flatten": keras.layers.Flatten,
        }[pooling](name="pooling")
    return keras.layers.Identity(name="pooling")


def augmentation_layer(augmentation):
    """`None`, a `keras.Sequential` named `augmentation` for `"default"` or a list
    of layers, or the given layer itself."""
    if augmentation is None or isinstance(augmentation, keras.layers.Layer):
        return augmentation
    if isinstance(augmentation, str):
        if augmentation != "default":
            raise ValueError(
                "Expected `augmentation` to be None, 'default', a layer or a list of "
                f"layers. Received: augmentation={augmentation!r}"
            )
        layers = [
            keras.layers.RandomFlip("horizontal"),
            keras.layers.RandomRotation(0.1),
            keras.layers.RandomZoom(0.1),
        ]
    else:
        layers = list(augmentation)
        if not all(isinstance(layer, keras.layers.Layer) for layer in layers):
            raise ValueError(
                "Expected `augmentation` to be None, 'default', a layer or a list of "
                f"layers. Received: augmentation={augmentation!r}"
            )
    return keras.Sequential(layers, name="augmentation")
