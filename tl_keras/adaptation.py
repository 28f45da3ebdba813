"""The same task on new data: BatchNorm statistics re-estimated without labels.

A new camera, a new hospital, a new shop: the task stays, the images shift.
Adaptive BatchNorm (AdaBN, Li et al., "Revisiting Batch Normalization For
Practical Domain Adaptation", 2016) re-estimates every BatchNormalization
layer's moving mean and variance on unlabelled images of the new domain,
leaving every learned weight as it is.
"""

import datetime

import keras
import numpy as np
import tensorflow as tf

from tl_keras.console import say
from tl_keras.models.parts import get_base
from tl_keras.models.transfer_model import TransferModel
from tl_keras.training.freezing import leaf_layers


def adapt_batchnorm(model, unlabeled_data, *, batch_size=32, name=None, verbose="auto"):
    """Re-estimates the base's BatchNorm statistics on unlabelled target data.

    One pass over `unlabeled_data` in training mode for the BatchNormalization
    layers of the base alone: each batch is normalized by its own statistics
    (so each layer sees its inputs as the target domain gives them), and each
    layer's moving mean and variance become the average of the batches'. No
    labels, no gradients: every other weight, and the BatchNorm scales and
    offsets, stay as they were. The model's card records the adaptation when it
    is exported (`model.adaptations`, kept in its config).

    Args:
        model: a `tl_keras.ImageClassifier` (or a model with one nested base;
            see `tl_keras.get_base`).
        unlabeled_data: images of the target domain: an array `[n, h, w, 3]`,
            or a `tf.data.Dataset` of image batches or of `(images, ...)`
            batches (labels, if any, are ignored).
        batch_size: batch size for arrays. Larger batches estimate better.
            Defaults to `32`.
        name: what to call the target data in the record. Defaults to `None`.
        verbose: one line when done (`0` silences it). Defaults to `"auto"`.

    Returns:
        The model, adapted in place.

    Raises:
        ValueError: a base without BatchNormalization layers, or no images.

    Example:

    >>> tl_keras.adapt_batchnorm(model, new_camera_images)
    """
    base = get_base(model)
    norms = [layer for layer in leaf_layers(base)
             if isinstance(layer, keras.layers.BatchNormalization)]
    if not norms:
        raise ValueError(
            f"Base '{base.name}' has no BatchNormalization layer, so there are no "
            "statistics to re-estimate (AdaBN needs a base such as ResNet, MobileNet "
            f"or EfficientNet). Received: base={base.name!r}")
    saved = [(layer, layer.trainable, layer.momentum) for layer in norms]
    preprocess = getattr(model, "preprocessing", None)
    count = 0
    try:
        for layer in norms:
            layer.trainable = True  # a frozen BatchNorm never updates its statistics
        for batch_index, images in enumerate(_image_batches(unlabeled_data, batch_size)):
            # The running average of the batches' statistics: momentum i / (i + 1).
            for layer in norms:
                layer.momentum = batch_index / (batch_index + 1)
            inputs = preprocess(images) if preprocess is not None else images
            base(inputs, training=True)
            count += int(images.shape[0])
    finally:
        for layer, trainable, momentum in saved:
            layer.trainable, layer.momentum = trainable, momentum
    if not count:
        raise ValueError("Expected unlabelled images of the target domain. Received: no "
                         "images")
    _record(model, {"method": "adabn", "examples": count, "data": name,
                    "layers": len(norms),
                    "date": datetime.date.today().isoformat()})
    say(f"Adapted {len(norms)} BatchNormalization layers of '{base.name}' to "
        f"{count:,} unlabelled images.", verbose)
    return model


def _image_batches(data, batch_size):
    if isinstance(data, tf.data.Dataset):
        for element in data:
            yield tf.convert_to_tensor(element[0] if isinstance(element, tuple) else element,
                                       tf.float32)
        return
    images = np.asarray(data[0] if isinstance(data, (tuple, list)) else data, "float32")
    for start in range(0, len(images), batch_size):
        yield tf.convert_to_tensor(images[start:start + batch_size])


def _record(model, record):
    if isinstance(model, TransferModel):  # a model of your own keeps no record
        model.record_adaptation(record)
