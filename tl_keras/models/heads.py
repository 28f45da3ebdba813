"""Arguments of the new head, its pooling, and the augmentation in front of the base."""

import keras

POOLINGS = ("avg", "max", "flatten")
ACTIVATIONS = ("softmax", "sigmoid", "linear", None)


def check_head_arguments(num_classes, *, hidden_units, dropout, pooling, activation, l2=0.0):
    """Raises a clear error for head arguments that cannot work."""
    if isinstance(l2, bool) or not isinstance(l2, (int, float)) or not l2 >= 0:
        raise ValueError(f"Expected `l2` >= 0. Received: l2={l2!r}")
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


# What an augmentation spec's names build (pixels in [0, 255]); each takes a factor.
AUGMENTATIONS = {
    "flip": lambda mode: keras.layers.RandomFlip(mode or "horizontal"),
    "rotation": lambda factor: keras.layers.RandomRotation(float(factor)),
    "zoom": lambda factor: keras.layers.RandomZoom(float(factor)),
    "shift": lambda factor: keras.layers.RandomTranslation(float(factor), float(factor)),
    "brightness": lambda factor: keras.layers.RandomBrightness(float(factor),
                                                               value_range=(0, 255)),
    "contrast": lambda factor: keras.layers.RandomContrast(float(factor)),
}
DEFAULT_AUGMENTATION = "flip,rotation=0.1,zoom=0.1"


def augmentation_from_spec(spec):
    """The layers of a spec such as `"flip,rotation=0.1,zoom=0.2,shift=0.1"`
    (`"default"`: flip, rotation 0.1, zoom 0.1; `flip=horizontal_and_vertical`)."""
    spec = DEFAULT_AUGMENTATION if spec == "default" else spec
    layers = []
    for part in [p.strip() for p in spec.split(",") if p.strip()]:
        name, _, value = part.partition("=")
        if name.strip() not in AUGMENTATIONS:
            raise ValueError(
                f"Unknown augmentation {name.strip()!r}. Expected 'default' or a comma-"
                f"separated list of {sorted(AUGMENTATIONS)} with factors, such as "
                f"'flip,rotation=0.1,zoom=0.2'. Received: augmentation={spec!r}")
        if name.strip() != "flip" and not _is_factor(value):
            raise ValueError(
                f"Expected a factor in (0, 1] for {name.strip()!r}, such as "
                f"'{name.strip()}=0.1'. Received: augmentation={spec!r}")
        try:
            layers.append(AUGMENTATIONS[name.strip()](value.strip() or None))
        except ValueError as error:  # Keras's own check (a flip mode it does not know)
            raise ValueError(f"{error} Received: augmentation={spec!r}") from None
    if not layers:
        raise ValueError(f"Expected at least one augmentation. Received: augmentation={spec!r}")
    return layers


def _is_factor(value):
    try:
        return 0 < float(value) <= 1
    except ValueError:
        return False


def augmentation_layer(augmentation):
    """`None`, a `keras.Sequential` named `augmentation` for a spec string (see
    `augmentation_from_spec`) or a list of layers, or the given layer itself."""
    if augmentation is None or isinstance(augmentation, keras.layers.Layer):
        return augmentation
    if isinstance(augmentation, str):
        layers = augmentation_from_spec(augmentation)
    else:
        layers = list(augmentation)
        if not all(isinstance(layer, keras.layers.Layer) for layer in layers):
            raise ValueError(
                "Expected `augmentation` to be None, 'default', a spec such as "
                "'flip,rotation=0.1', a layer or a list of layers. Received: "
                f"augmentation={augmentation!r}"
            )
    return keras.Sequential(layers, name="augmentation")
