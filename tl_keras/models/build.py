"""build_model: a base name or handle in, an `ImageClassifier` out."""

from tl_keras.bases import load_base
from tl_keras.models.heads import augmentation_layer
from tl_keras.models.heads import check_head_arguments
from tl_keras.models.image_classifier import ImageClassifier
from tl_keras.models.transfer_model import check_class_names


def build_model(base, num_classes, *, weights="imagenet", input_shape=None,
                hidden_units=(), dropout=0.2, pooling="avg", activation="softmax",
                augmentation=None, class_names=None, l2=0.0, **kwargs):
    """Builds a transfer-learning classifier over a frozen pre-trained base.

    The model takes RGB pixels in [0, 255] (input `images`), applies the
    optional augmentation (active in training only), the base's own
    preprocessing (a serializable layer), the base called with
    `training=False`, pooling, optional hidden layers, dropout and the output.
    It knows its parts (`model.base`, `model.preprocessing`, `model.pooling`,
    `model.head`) and its identity (`model.class_names`, `model.lineage`,
    `model.base_identity`), and keeps them through a `.keras` round trip.

    Args:
        base: a registry name (`tl_keras.list_bases()`), an exported model
            directory, a TF Hub handle or module directory, or a `keras.Model`
            (see `tl_keras.load_base`).
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
        augmentation: `None`, `"default"` (flip, rotation, zoom), a spec
            such as `"flip,rotation=0.1,zoom=0.2,shift=0.1"` (also `brightness`,
            `contrast`), a Keras layer, or a list of layers. Defaults to `None`.
        class_names: names of the outputs, in order; export and `tl-keras
            predict` use them. Defaults to `None` (settable later:
            `model.class_names = class_names`).
        l2: L2 penalty on the output layer's kernel. Defaults to `0.0`: none.
        **kwargs: passed to the base's builder (`alpha` for the MobileNets;
            `output_key`, `signature`, `arguments` for a TF Hub module;
            `token_pooling` for a KerasHub transformer).

    Returns:
        A `tl_keras.ImageClassifier`, not compiled; its base is frozen.

    Raises:
        ValueError: for an unknown base, an input shape below the base's
            minimum, class names that do not match `num_classes`, or head
            arguments that cannot work (`num_classes < 1`).

    Example:

    >>> model = tl_keras.build_model("mobilenet_v2", num_classes=5,
    ...                              weights=None, input_shape=(96, 96, 3))
    >>> model.output_shape
    (None, 5)
    """
    # Every argument is checked before the base is built (which can take long).
    check_head_arguments(num_classes, hidden_units=hidden_units, dropout=dropout,
                         pooling=pooling, activation=activation, l2=l2)
    check_class_names(class_names, num_classes)
    augmentation_layer(augmentation)
    base_model = load_base(base, weights=weights, input_shape=input_shape,
                           trainable=False, **kwargs)
    return ImageClassifier(
        base_model, num_classes, augmentation=augmentation, pooling=pooling,
        hidden_units=hidden_units, dropout=dropout, activation=activation,
        class_names=class_names, l2=l2,
    )
