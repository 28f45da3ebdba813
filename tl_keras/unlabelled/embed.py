"""`embed`: a collection through a frozen base, as `Embeddings`.

Data may be a folder of images (flat, or with class subfolders, whose names
become the items' labels), a list of image files, TFRecord shards (a glob or
a directory), an array of images, a list of texts (for a text model), or a
batched `tf.data.Dataset`. Images
are decoded and resized as `tl_keras.image_dataset` does (the same
`decode_rgb` and `resize_image`), so the vectors are those the model sees.
"""

import os
import weakref

import keras
import numpy as np
import tensorflow as tf

from tl_keras.bases import identity_of
from tl_keras.bases import load_base
from tl_keras.data.image_files import DEFAULT_RESIZE
from tl_keras.data.image_files import check_resize
from tl_keras.data.tfrecords import is_tfrecord_source
from tl_keras.log import no_retracing_warnings
from tl_keras.log import say
from tl_keras.models.text_classifier import TextClassifier
from tl_keras.models.transfer_model import TransferModel
from tl_keras.training.feature_cache import FeatureCache
from tl_keras.training.features import feature_extractor
from tl_keras.unlabelled.embeddings import Embeddings
from tl_keras.unlabelled.sources import ImageSource
from tl_keras.unlabelled.sources import image_files
from tl_keras.unlabelled.sources import image_records

DEFAULT_BASE = "mobilenet_v2"
DEFAULT_IMAGE_SIZE = 224


def embed(model_or_base, data, *, weights="imagenet", alpha=None, image_size=None,
          resize=DEFAULT_RESIZE, batch_size=32, pooling="avg", cache=None,
          verbose="auto"):
    """Computes the embeddings of a collection with a frozen base.

    Args:
        model_or_base: anything `tl_keras.load_base` accepts (a registry
            name, a TF Hub handle, a KerasHub preset, an exported model's
            directory), a base it returned, or a model from
            `tl_keras.build_model` / `build_text_model` (the vectors are what
            its head sees: a text model's sentence vectors).
        data: a folder of images (flat, or class subfolders: their names
            become `labels`), a list of image files, TFRecord shards (a glob
            or a directory, as `tl-keras to-tfrecord` writes them), images
            `[n, h, w, 3]` in
            [0, 255], a list of texts (for a text model), or a batched
            `tf.data.Dataset` of inputs (or `(inputs, labels)`).
        weights: for a `model_or_base` that is loaded here. Defaults to
            `"imagenet"`.
        alpha: the MobileNets' width multiplier, for a registry name.
            Defaults to `None` (the base's own).
        image_size: the square size images are read at. Defaults to `None`:
            the base's input size, else 224.
        resize: how files are resized, as `tl_keras.image_dataset` does it.
            Defaults to `"crop"`.
        batch_size: images or texts per batch. Defaults to `32`.
        pooling: for a base that outputs a feature map. Defaults to `"avg"`.
        cache: a `tl_keras.FeatureCache` whose memory budget bounds the
            pass (and which keeps the result for reuse). Defaults to `None`: a
            cache of its own with the default 2 GiB budget.
        verbose: a progress bar and a line (`0` hides them). Defaults to
            `"auto"`.

    Returns:
        An `Embeddings`: `vectors` `[n, d]`, `ids` (file paths for files,
        records' `image/filename` for TFRecords, row numbers for arrays and
        datasets, the texts for texts),
        `labels`/`class_names` where the data had classes, and `base`.

    Raises:
        ValueError: for data it cannot read, or texts given to an image base.

    Example:

    >>> emb = tl_keras.embed(model, "flower_photos", verbose=0)
    >>> len(emb), emb.class_names, emb.ids[0]
    (15, ['daisy', 'roses', 'tulips'], 'flower_photos/daisy/0.jpg')
    """
    resize = check_resize(resize)
    model = _model(model_or_base, weights=weights, alpha=alpha, image_size=image_size)
    extractor = _extractor(model, pooling)
    is_text = isinstance(model, TextClassifier)
    inputs, ids, labels, class_names = _inputs(data, extractor, is_text=is_text,
                                               image_size=image_size, resize=resize,
                                               batch_size=batch_size, verbose=verbose)
    cache = cache if cache is not None else FeatureCache(max_entries=0)
    source = inputs if isinstance(inputs, ImageSource) else None
    with no_retracing_warnings():  # a new extractor per call: its own predict function
        features, _ = cache.features(extractor, source.dataset if source else inputs,
                                     fingerprint=None, batch_size=batch_size,
                                     verbose=verbose)
    vectors = np.array(features.x, dtype="float32")
    if source is not None:  # the items that decoded, back in the source's order
        positions = np.asarray(features.y, dtype="int64")
        order = np.argsort(positions, kind="stable")
        vectors = vectors[order]
        ids, labels = _read_items(source, positions[order], verbose)
    elif labels is None and features.y is not None and np.asarray(features.y).ndim == 1:
        labels = np.asarray(features.y, dtype="int64")
    if ids is None:
        ids = list(range(len(vectors)))
    if len(ids) != len(vectors):
        raise ValueError(f"The data gave {len(vectors)} vectors for {len(ids)} items. "
                         "Received: a dataset that does not repeat the same items")
    identity = (model.base_identity if isinstance(model, TransferModel)
                else identity_of(model))
    say(f"Embedded {len(vectors)} items with {identity.get('name')!r}: vectors of "
        f"{vectors.shape[1]}.", verbose)
    return Embeddings(vectors, ids, labels, class_names, identity)


def as_embeddings(data_or_embeddings, *, base=None, **options):
    """`data_or_embeddings` as `Embeddings`: itself when it is one, a `.npz`
    written by `Embeddings.save`, else `embed(base or DEFAULT_BASE, data)`."""
    if isinstance(data_or_embeddings, Embeddings):
        return data_or_embeddings
    if isinstance(data_or_embeddings, (str, os.PathLike)) and \
            os.fspath(data_or_embeddings).endswith(".npz"):
        return Embeddings.load(data_or_embeddings)
    return embed(base if base is not None else DEFAULT_BASE, data_or_embeddings, **options)


def _read_items(source, positions, verbose):
    """The ids and labels of the items at `positions`; the others (images that
    failed to decode) said by name."""
    lost = sorted(set(range(len(source.ids))) - set(positions.tolist()))
    if lost:
        names = ", ".join(str(source.ids[i]) for i in lost[:10])
        say(f"Skipped {len(lost)} of {len(source.ids)} images that failed to decode: "
            f"{names}{', ...' if len(lost) > 10 else ''}.", verbose)
    labels = None if source.labels is None else source.labels[positions]
    return [source.ids[i] for i in positions], labels


# One extractor per model and pooling, kept while the model lives: embedding with
# the same base again reuses its traced predict function (a second of tracing
# each call otherwise, a third of the time on a 1,000-image folder).
_EXTRACTORS = weakref.WeakKeyDictionary()


def _extractor(model, pooling):
    kept = _EXTRACTORS.setdefault(model, {})
    if pooling not in kept:
        kept[pooling] = feature_extractor(model, pooling=pooling)
    return kept[pooling]


def _model(model_or_base, *, weights, alpha, image_size):
    if isinstance(model_or_base, keras.Model):
        return model_or_base
    kwargs = {} if alpha is None else {"alpha": alpha}
    shape = None if image_size is None else (_size(image_size), _size(image_size), 3)
    return load_base(model_or_base, weights=weights, input_shape=shape, **kwargs)


def _size(image_size):
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) \
            or image_size < 1:
        raise ValueError("Expected `image_size` to be a positive integer (pixels). "
                         f"Received: image_size={image_size!r}")
    return int(image_size)


def _inputs(data, extractor, *, is_text, image_size, resize, batch_size, verbose):
    """`(inputs for compute_features, ids or None, labels or None, class_names)`."""
    if isinstance(data, tf.data.Dataset):
        return data, None, None, None
    if isinstance(data, (str, os.PathLike)):
        data = [os.fspath(data)]
    if isinstance(data, np.ndarray) and data.dtype.kind not in "USO":
        if is_text:
            raise ValueError("Expected texts for a text model. Received: an array of "
                             f"{data.dtype} {data.shape}")
        return data, None, None, None
    if isinstance(data, tuple) and len(data) == 2:
        return (np.asarray(data[0]), np.asarray(data[1])), None, None, None
    items = [os.fspath(d) if isinstance(d, os.PathLike) else d for d in list(data)]
    if not items or not all(isinstance(i, str) for i in items):
        raise ValueError("Expected a folder, a list of image files or texts, an array of "
                         "images or a tf.data.Dataset. Received: data of type "
                         f"{type(data).__name__}")
    if is_text:
        return np.asarray(items, dtype=str), list(items), None, None
    size = _input_size(extractor, image_size)
    if len(items) == 1 and is_tfrecord_source(items[0]):
        source = image_records(items[0], size, resize=resize, batch_size=batch_size)
    else:
        source = image_files(items, size, resize=resize, batch_size=batch_size,
                             verbose=verbose)
    return source, source.ids, source.labels, source.class_names


def _input_size(extractor, image_size):
    height, width = extractor.input_shape[1:3]
    if height is not None and width is not None:
        return (int(height), int(width))
    size = _size(image_size) if image_size is not None else DEFAULT_IMAGE_SIZE
    return (size, size)
