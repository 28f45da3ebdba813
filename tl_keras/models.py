"""build_model: raw pixels -> preprocessing -> frozen base(training=False) -> head."""

import keras

from tl_keras.bases import resolve_base
from tl_keras.heads import add_head
from tl_keras.heads import check_head_arguments
from tl_keras.preprocessing import Preprocessing


def build_model(base, num_classes, *, weights="imagenet", input_shape=None,
                hidden_units=(), dropout=0.2, pooling="avg", activation="softmax",
                augmentation=None, **kwargs):
    """Builds a transfer-learning classifier over a frozen pre-trained base.

    The model takes RGB pixels in [0, 255] (input `images`), applies the
    optional augmentation (active in training only), the base's own
    preprocessing (a serializable layer), the base called with
    `training=False`, pooling, optional hidden layers, dropout and the output.

    Args:
        base: a registry name (`tl_keras.list_bases()`), an exported model
            directory, or a `keras.Model` (see `tl_keras.load_base`).
        num_classes: number of output units.
        weights: `"imagenet"`, `None` or the path to a weights file. Defaults
            to `"imagenet"`.
        input_shape: `(height, width, 3)`. Defaults to `None`: the base's
            default size.
        hidden_units: units of ReLU layers in the head. Defaults to `()`.
        dropout: dropout rate before each dense layer of the head. Defaults
            to `0.2`.
        pooling: `"avg"`, `"max"` or `"flatten"`. Defaults to `"avg"`.
        activation: `"softmax"`, `"sigmoid"` (multi-label, or binary with
            `num_classes=1`) or `None` for logits. Defaults to `"softmax"`.
        augmentation: `None`, `"default"` (flip, rotation, zoom), a Keras layer,
            or a list of layers. Defaults to `None`.
        **kwargs: passed to the `keras.applications` constructor (`alpha`).

    Returns:
        A functional `keras.Model`, not compiled; its base is frozen.

    Raises:
        ValueError: for an unknown base, an input shape below the base's
            minimum, or head arguments that cannot work (`num_classes < 1`).

    Example:

    >>> model = tl_keras.build_model("mobilenet_v2", num_classes=5,
    ...                              weights=None, input_shape=(96, 96, 3))
    >>> model.output_shape
    (None, 5)
    """
    hidden_units = check_head_arguments(
        num_classes, hidden_units=hidden_units, dropout=dropout, pooling=pooling,
        activation=activation,
    )
    augmentation_layer = _augmentation(augmentation)
    base_model, info = resolve_base(
        base, weights=weights, input_shape=input_shape, trainable=False, **kwargs
    )
    inputs = keras.Input(shape=base_model.input_shape[1:], name="images")
    x = inputs
    if augmentation_layer is not None:
        x = augmentation_layer(x)
    x = Preprocessing(info["preprocessing"], name="preprocessing")(x)
    # Recorded for inference calls; during fit, Keras 3 passes training=True
    # down regardless (keras-team/keras#20285), so BatchNorm safety comes from
    # keeping BatchNormalization layers frozen (see tl_keras.training).
    features = base_model(x, training=False)
    outputs = add_head(
        features, num_classes, hidden_units=hidden_units, dropout=dropout,
        pooling=pooling, activation=activation,
    )
    return keras.Model(inputs, outputs, name=f"{info['name']}_classifier")


def get_base(model):
    """Returns the pre-trained base nested in a model built by `build_model`.

    Args:
        model: a `keras.Model` from `tl_keras.build_model` (or loaded back from
            its `.keras` file).

    Returns:
        The nested base (a `keras.Model`).

    Raises:
        ValueError: if `model` has no nested base, or more than one.

    Example:

    >>> tl_keras.get_base(model).trainable
    False
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"Expected a keras.Model. Received: model={model!r}")
    candidates = [
        layer for layer in model.layers
        if isinstance(layer, keras.Model) and layer.name != "augmentation"
    ]
    if not candidates:  # a text model: its embedding (word vectors or a TF Hub module)
        from tl_keras.bases.hub import HubLayer

        candidates = [layer for layer in model.layers if isinstance(layer, HubLayer)
                      or (layer.name == "embedding"
                          and isinstance(layer, keras.layers.Embedding))]
    if len(candidates) != 1:
        found = [layer.name for layer in candidates]
        raise ValueError(
            "Expected a model with exactly one nested base model, as "
            f"tl_keras.build_model makes. Found {len(found)}: {found}. "
            f"Received: model={model.name!r}"
        )
    return candidates[0]


def _augmentation(augmentation):
    if augmentation is None:
        return None
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
    elif isinstance(augmentation, keras.layers.Layer):
        layers = [augmentation]
    else:
        layers = list(augmentation)
        if not all(isinstance(layer, keras.layers.Layer) for layer in layers):
            raise ValueError(
                "Expected `augmentation` to be None, 'default', a layer or a list of "
                f"layers. Received: augmentation={augmentation!r}"
            )
    return keras.Sequential(layers, name="augmentation")
