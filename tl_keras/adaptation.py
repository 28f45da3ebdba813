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

from tl_keras.log import say
from tl_keras.models.parts import get_base
from tl_keras.models.transfer_model import TransferModel
from tl_keras.training.freezing import leaf_layers


def adapt_batchnorm(model, unlabeled_data, *, source_data=None, batch_size=32, name=None,
                    verbose="auto"):
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
        source_data: images of the domain the model was trained on, the same
            kinds, or `None`. With them, each layer's statistics move by the
            difference between the target's and the source's (mean shifted,
            variance scaled), so a base whose BatchNorm kept its pre-training
            statistics (tl_keras freezes them) keeps the normalization its
            head was trained with and corrects only the shift. Without them,
            the statistics become the target's (AdaBN as published). Defaults
            to `None`.
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
    Adapted 52 BatchNormalization layers of 'mobilenet_v2' to ... unlabelled images.
    <ImageClassifier name=mobilenet_v2_classifier, built=True>
    """
    base = get_base(model)
    norms = [layer for layer in leaf_layers(base)
             if isinstance(layer, keras.layers.BatchNormalization)]
    if not norms:
        raise ValueError(
            f"Base '{base.name}' has no BatchNormalization layer, so there are no "
            "statistics to re-estimate (AdaBN needs a base such as ResNet, MobileNet "
            f"or EfficientNet). Received: base={base.name!r}")
    original = _statistics(norms)
    target, count = _domain_statistics(model, base, norms, unlabeled_data, batch_size)
    if not count:
        raise ValueError("Expected unlabelled images of the target domain. Received: no "
                         "images")
    if source_data is None:
        adapted = target
    else:
        source, _ = _domain_statistics(model, base, norms, source_data, batch_size)
        adapted = [(mean + t_mean - s_mean, variance * (t_var + EPSILON) / (s_var + EPSILON))
                   for (mean, variance), (t_mean, t_var), (s_mean, s_var)
                   in zip(original, target, source)]
    for layer, (mean, variance) in zip(norms, adapted):
        layer.moving_mean.assign(mean)
        layer.moving_variance.assign(variance)
    _record(model, {"method": "adabn" if source_data is None else "adabn, relative to "
                    "the source", "examples": count, "data": name, "layers": len(norms),
                    "date": datetime.date.today().isoformat()})
    say(f"Adapted {len(norms)} BatchNormalization layers of '{base.name}' to "
        f"{count:,} unlabelled images.", verbose)
    return model


EPSILON = 1e-3


def _statistics(norms):
    return [(layer.moving_mean.numpy().copy(), layer.moving_variance.numpy().copy())
            for layer in norms]


def _domain_statistics(model, base, norms, data, batch_size):
    """Each layer's mean and variance over `data` (the average of its batches',
    each batch normalized by its own), then the layers as they were."""
    saved = [(layer, layer.trainable, layer.momentum) for layer in norms]
    before = _statistics(norms)
    preprocess = getattr(model, "preprocessing", None)
    count = 0
    try:
        for layer in norms:
            layer.trainable = True  # a frozen BatchNorm never updates its statistics
        for batch_index, images in enumerate(_image_batches(data, batch_size)):
            # The running average of the batches' statistics: momentum i / (i + 1).
            for layer in norms:
                layer.momentum = batch_index / (batch_index + 1)
            inputs = preprocess(images) if preprocess is not None else images
            base(inputs, training=True)
            count += int(images.shape[0])
        found = _statistics(norms)
    finally:
        for (layer, trainable, momentum), (mean, variance) in zip(saved, before):
            layer.trainable, layer.momentum = trainable, momentum
            layer.moving_mean.assign(mean)
            layer.moving_variance.assign(variance)
    return found, count


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
