"""ImageClassifier: raw pixels -> augmentation -> preprocessing -> frozen base -> head."""

import keras

from tl_keras.layers.preprocessing import Preprocessing
from tl_keras.models.heads import augmentation_layer
from tl_keras.models.heads import check_head_arguments
from tl_keras.models.heads import pooling_layer
from tl_keras.models.transfer_model import TransferModel
from tl_keras.models.transfer_model import build_head


@keras.saving.register_keras_serializable(package="tl_keras")
class ImageClassifier(TransferModel):
    """An image classifier on a pre-trained base; RGB pixels in [0, 255] in.

    The graph: input `images` -> `augmentation` (active in training only) ->
    `preprocessing` (what the base expects) -> `base` (called with
    `training=False`) -> `pooling` (the feature vector) -> `head`.
    `tl_keras.build_model` makes one from a base name or handle.

    Args:
        base: a `keras.Model` from pixels (preprocessed) to a feature map or
            vector, usually a `tl_keras.PretrainedBase` from `load_base`.
        num_classes: number of output units.
        preprocessing: a `tl_keras.Preprocessing` mode. Defaults to `None`:
            the base's own (`"none"` for a plain `keras.Model`).
        augmentation: `None`, `"default"` (flip, rotation, zoom), a spec
            such as `"flip,rotation=0.1,zoom=0.2,shift=0.1"` (also `brightness`,
            `contrast`), a Keras layer or a list of layers. Defaults to `None`.
        pooling: `"avg"`, `"max"` or `"flatten"` over a feature map. Defaults
            to `"avg"`.
        hidden_units: units of ReLU layers in the head. Defaults to `()`.
        dropout: dropout rate before each dense layer of the head. Defaults
            to `0.2`.
        activation: `"softmax"`, `"sigmoid"` or `None` for logits. Defaults to
            `"softmax"`.
        class_names: names of the outputs, in order. Defaults to `None`.
        l2: L2 penalty on the output layer's kernel (TF Hub's
            `make_image_classifier` used 1e-4). Defaults to `0.0`: none.
        **kwargs: `keras.Model` arguments (`name`, `trainable`).

    Example:

    >>> base = tl_keras.load_base("mobilenet_v2", weights=None,
    ...                           input_shape=(96, 96, 3))
    >>> model = tl_keras.ImageClassifier(base, 3, class_names=["a", "b", "c"])
    >>> model.base is base, model.class_names
    (True, ['a', 'b', 'c'])
    """

    def __init__(self, base, num_classes, *, preprocessing=None, augmentation=None,
                 pooling="avg", hidden_units=(), dropout=0.2, activation="softmax",
                 class_names=None, l2=0.0, **kwargs):
        hidden_units = check_head_arguments(
            num_classes, hidden_units=hidden_units, dropout=dropout, pooling=pooling,
            activation=activation, l2=l2,
        )
        if not isinstance(base, keras.Model):
            raise ValueError(f"Expected `base` to be a keras.Model. Received: base={base!r}")
        if preprocessing is None:
            preprocessing = getattr(base, "preprocessing_mode", "none")
        feature_rank = len(base.output_shape)

        # === Layers ===
        self.base = base
        self.augmentation = augmentation_layer(augmentation)
        self.preprocessing = Preprocessing(preprocessing, name="preprocessing")
        self.pooling = pooling_layer(pooling, feature_rank)
        self.head = build_head(num_classes, hidden_units=hidden_units, dropout=dropout,
                               activation=activation, l2=l2)

        # === Functional Model ===
        inputs = keras.Input(shape=base.input_shape[1:], name="images")
        x = inputs
        if self.augmentation is not None:
            x = self.augmentation(x)
        x = self.preprocessing(x)
        # Recorded for inference calls; during fit, Keras 3 passes training=True
        # down regardless (keras-team/keras#20285), so BatchNorm safety comes
        # from keeping BatchNormalization layers frozen (see tl_keras.training).
        x = self.base(x, training=False)
        outputs = self.head(self.pooling(x))
        kwargs.setdefault("name", f"{base.name}_classifier")
        super().__init__(inputs, outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.activation = activation
        self.pooling_mode = pooling
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.l2 = float(l2)
        self.class_names = class_names

    @property
    def feature_layer(self):
        return self.pooling

    # === What the trainer asks ===

    takes_pixels = True

    def activation_cut_reason(self):
        if self.augmentation is not None:
            return ("augmentation sits in front of the base (the activations would "
                    "differ every epoch)")
        return None

    layer_arguments = ("base", "augmentation")

    def get_config(self):
        config = self._base_config(base=self.base, augmentation=self.augmentation)
        config.update(preprocessing=self.preprocessing.mode, pooling=self.pooling_mode,
                      hidden_units=list(self.hidden_units), dropout=self.dropout)
        if self.l2:  # written only when set: files of earlier versions load unchanged
            config.update(l2=self.l2)
        return config
