"""Features of a frozen base as arrays, for a classifier of your own."""

import keras
import numpy as np

from tl_keras.bases.base_model import identity_of
from tl_keras.layers.preprocessing import Preprocessing
from tl_keras.models.transfer_model import TransferModel
from tl_keras.training.feature_pass import compute_features


def feature_extractor(model_or_base, *, pooling="avg"):
    """Returns a `keras.Model` from raw inputs to the feature vector.

    Args:
        model_or_base: a `tl_keras.TransferModel` (from `build_model` or
            `build_text_model`: features are what its head sees), or a base
            from `tl_keras.load_base` (its preprocessing is put in front, and
            a feature map is pooled).
        pooling: `"avg"` or `"max"`, for a base that outputs a feature map.
            Defaults to `"avg"`.
    """
    if isinstance(model_or_base, TransferModel):
        return model_or_base.feature_model()
    if pooling not in ("avg", "max"):
        raise ValueError(f"Expected `pooling` in ('avg', 'max'). Received: pooling={pooling!r}")
    if not isinstance(model_or_base, keras.Model):
        raise ValueError("Expected a model from tl_keras.build_model or a base from "
                         f"tl_keras.load_base. Received: model_or_base={model_or_base!r}")
    inputs = keras.Input(model_or_base.input_shape[1:], name="images")
    x = Preprocessing(identity_of(model_or_base)["preprocessing"], name="preprocessing")(inputs)
    x = model_or_base(x, training=False)
    if len(x.shape) == 4:
        pool = (keras.layers.GlobalAveragePooling2D if pooling == "avg"
                else keras.layers.GlobalMaxPooling2D)
        x = pool(name="pooling")(x)
    return keras.Model(inputs, x, name=f"{model_or_base.name}_features")


def extract_features(model_or_base, data, *, batch_size=32, pooling="avg", output=None,
                     verbose="auto"):
    """Computes the frozen base's pooled features, for a model of your own.

    Args:
        model_or_base: a model from `tl_keras.build_model` or a base from
            `tl_keras.load_base` (see `feature_extractor`).
        data: images `[n, h, w, 3]` in [0, 255], a tuple `(x, y)`, or a
            batched `tf.data.Dataset` of images or `(images, labels)`.
        batch_size: for array inputs. Defaults to `32`.
        pooling: for a base that outputs a feature map. Defaults to `"avg"`.
        output: a `.npz` path to also write `features` (and `labels`) to.
            Defaults to `None`.
        verbose: show a progress bar (`0` hides it). Defaults to `"auto"`.

    Returns:
        `features` (float32 `[n, d]`), or `(features, labels)` when `data`
        carries labels.

    Example:

    >>> features, labels = tl_keras.extract_features(model, train, verbose=0)
    >>> features.shape, labels.shape
    ((..., 1280), (...,))
    """
    extractor = feature_extractor(model_or_base, pooling=pooling)
    features = compute_features(extractor, data, batch_size=batch_size, verbose=verbose)
    if output is not None:
        arrays = {"features": features.x}
        if features.y is not None:
            arrays["labels"] = features.y
        np.savez(output, **arrays)
    return features.x if features.y is None else (features.x, features.y)
