"""Loss and metrics chosen from the labels and the output layer; compiling."""

import keras
import numpy as np

from tl_keras.models.transfer_model import TransferModel


def output_activation(model):
    """The output activation's name: a tl_keras model's own, else its last layer's."""
    if isinstance(model, TransferModel):
        return model.activation or "linear"
    activation = getattr(model.layers[-1], "activation", None)
    return getattr(activation, "__name__", "linear")


def label_kind(labels, units, activation):
    """Returns 'sparse', 'binary', 'one_hot' or 'multi_label' for these labels."""
    shape = labels.shape
    if len(shape) == 1 or (len(shape) == 2 and shape[-1] == 1 and units > 1):
        return "binary" if units == 1 else "sparse"
    if len(shape) == 2 and shape[-1] == units:
        if units == 1:
            return "binary"
        return "multi_label" if activation == "sigmoid" else "one_hot"
    raise ValueError(
        f"Labels do not match the model's output of {units} units: expected integer "
        f"class indices of shape (batch,) or one-hot/multi-hot labels of shape "
        f"(batch, {units}). Received: labels of shape {tuple(shape)}"
    )


def check_label_values(labels, kind, units):
    labels = np.asarray(labels)
    if kind == "sparse":
        bad = labels[(labels < 0) | (labels >= units) | (labels != np.floor(labels))]
        expected = f"integers in [0, {units})"
    else:
        bad = labels[(labels < 0) | (labels > 1)]
        expected = "values in [0, 1]"
    if bad.size:
        raise ValueError(
            f"Labels out of range: expected {expected} for a model with {units} output "
            f"units. Received: labels including {sorted(set(bad.ravel().tolist()))[:5]}"
        )


def auto_compile_args(kind, activation):
    """A factory of fresh loss and metric objects chosen from the labels.

    Each compile gets its own objects: a metric object shared between two
    compiled models (the head and the full model) would mix their counts.
    """
    from_logits = activation == "linear"

    def make():
        if kind == "sparse":
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
            metric = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        elif kind == "one_hot":
            loss = keras.losses.CategoricalCrossentropy(from_logits=from_logits)
            metric = keras.metrics.CategoricalAccuracy(name="accuracy")
        else:  # binary, multi_label
            loss = keras.losses.BinaryCrossentropy(from_logits=from_logits)
            metric = keras.metrics.BinaryAccuracy(
                name="accuracy", threshold=0.0 if from_logits else 0.5)
        return {"loss": loss, "metrics": [metric]}

    return make


def user_compile_args(model):
    """A factory of fresh compile arguments from the model's own compile config."""
    config = model.get_compile_config() if model.compiled else None
    if not config:
        return None
    if isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer):
        # Loss scaling belongs to the run that asked for float16, not the model.
        config = dict(config, optimizer=keras.saving.serialize_keras_object(
            model.optimizer.inner_optimizer))
    return lambda: keras.saving.deserialize_keras_object(config)


def compile_model(model, compile_args, learning_rate, **overrides):
    """Compiles with fresh objects from `compile_args` and a fresh optimizer of
    the user's type (Adam by default) at `learning_rate`."""
    args = dict(compile_args(), **overrides)
    optimizer = args.pop("optimizer", None)
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = optimizer.inner_optimizer  # scaled again below if asked
    if isinstance(optimizer, keras.optimizers.Optimizer):
        config = optimizer.get_config()
        config["learning_rate"] = learning_rate
        optimizer = optimizer.__class__.from_config(config)
    else:
        optimizer = keras.optimizers.Adam(learning_rate)
    if args.pop("loss_scale", False):  # float16: small gradients underflow without it
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(optimizer=optimizer, **args)


def recompile_as_is(model):
    make = user_compile_args(model)
    if make:
        model.compile(**make())


@keras.saving.register_keras_serializable(package="tl_keras")
class SparseCrossentropyWithSmoothing(keras.losses.Loss):
    """Cross-entropy on integer labels, with label smoothing (Keras's
    `SparseCategoricalCrossentropy` has no `label_smoothing`): the labels become
    one-hot rows smoothed towards uniform by `label_smoothing`.

    Args:
        label_smoothing: in [0, 1). Defaults to `0.1`.
        from_logits: whether predictions are logits. Defaults to `False`.
        **kwargs: `keras.losses.Loss` arguments (`name`, `reduction`).
    """

    def __init__(self, label_smoothing=0.1, from_logits=False,
                 name="sparse_crossentropy_with_smoothing", **kwargs):
        super().__init__(name=name, **kwargs)
        if not 0 <= label_smoothing < 1:
            raise ValueError("Expected `label_smoothing` in [0, 1). "
                             f"Received: label_smoothing={label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        labels = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32")
        one_hot = keras.ops.one_hot(labels, keras.ops.shape(y_pred)[-1], dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            one_hot, y_pred, from_logits=self.from_logits,
            label_smoothing=self.label_smoothing)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing,
                "from_logits": self.from_logits}
