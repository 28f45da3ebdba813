"""The new head that goes on top of a base: pooling, hidden layers, dropout, output."""

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
            f"Received: num_classes=1, activation='softmax'"
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


def add_head(features, num_classes, *, hidden_units=(), dropout=0.2, pooling="avg",
             activation="softmax"):
    """Adds pooling, hidden layers, dropout and the output layer to `features`.

    Args:
        features: the symbolic output of the base: a feature map
            `(batch, h, w, c)` or a feature vector `(batch, c)`.
        num_classes: units of the output layer.
        hidden_units: units of ReLU layers between pooling and output.
            Defaults to `()`.
        dropout: dropout rate before each dense layer. Defaults to `0.2`.
        pooling: `"avg"`, `"max"` or `"flatten"` for a feature map. Defaults to
            `"avg"`.
        activation: of the output layer. Defaults to `"softmax"`.

    Returns:
        The symbolic output, from a float32 layer named `predictions` (float32
        even under a mixed precision policy).
    """
    if len(features.shape) == 4:
        pooling_layer = {
            "avg": keras.layers.GlobalAveragePooling2D,
            "max": keras.layers.GlobalMaxPooling2D,
            "flatten": keras.layers.Flatten,
        }[pooling](name="pooling")
    else:  # the base already pools (an exported model, a feature-vector module)
        pooling_layer = keras.layers.Identity(name="pooling")
    x = pooling_layer(features)
    for index, units in enumerate(hidden_units, start=1):
        if dropout:
            x = keras.layers.Dropout(dropout)(x)
        x = keras.layers.Dense(units, activation="relu", name=f"hidden_{index}")(x)
    if dropout:
        x = keras.layers.Dropout(dropout)(x)
    return keras.layers.Dense(
        num_classes, activation=activation, dtype="float32", name="predictions"
    )(x)
