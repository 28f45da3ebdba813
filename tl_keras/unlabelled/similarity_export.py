"""Similar-image search that TF Serving serves: `export_similarity`."""

import datetime
import os

import keras
import numpy as np
import tensorflow as tf

from tl_keras.bases import identity_of
from tl_keras.data.image_files import DEFAULT_RESIZE
from tl_keras.data.image_files import check_resize
from tl_keras.export import staging
from tl_keras.export.signatures import decode_images
from tl_keras.io import layout
from tl_keras.log import say
from tl_keras.models.transfer_model import TransferModel
from tl_keras.training.features import feature_extractor
from tl_keras.unlabelled.similarity import SimilarityIndex
from tl_keras.version import __version__


class _Index(tf.Module):
    """The index's arrays as variables (they never sit in the graph itself)."""

    def __init__(self, index):
        super().__init__(name="similarity_index")
        space = index.space
        dimension = index.embeddings.dimension
        self.mean = tf.Variable(space.mean if space.projection is not None
                                else np.zeros(dimension), dtype=tf.float32, trainable=False)
        self.projection = tf.Variable(space.projection if space.projection is not None
                                      else np.eye(dimension), dtype=tf.float32,
                                      trainable=False)
        self.vectors = tf.Variable(index._index, dtype=tf.float32, trainable=False)
        self.ids = tf.Variable([str(i) for i in index.embeddings.ids], dtype=tf.string,
                               trainable=False)

    def search(self, features, k):
        centred = tf.cast(features, tf.float32) - self.mean
        queries = tf.math.l2_normalize(tf.matmul(centred, self.projection), axis=1)
        scores, positions = tf.math.top_k(tf.matmul(queries, self.vectors,
                                                    transpose_b=True), k=k)
        return {"ids": tf.gather(self.ids, positions), "scores": scores}


def export_similarity(index, model_or_base, export_dir, *, k=10, version=None,
                      resize=DEFAULT_RESIZE, verbose="auto"):
    """Exports a similar-image search as a SavedModel version TF Serving serves.

    The version holds the frozen base (with its preprocessing), the index's
    vectors and whitening as variables, and the ids, so a request needs
    nothing else: TensorFlow alone loads it (no Keras, no tl_keras).
    Signatures:

    - `serving_default`: `images` (float32 `[batch, height, width, 3]`, RGB in
      [0, 255]) -> `ids` (string `[batch, k]`) and `scores` (float32, the most
      similar first), as `SimilarityIndex.search` gives them;
    - `serving_bytes`: `image_bytes` (encoded images, as TF Serving's REST API
      sends `{"b64": ...}`) -> the same.

    Written atomically into `export_dir/<version>/` with a model card, as
    `tl_keras.export_saved_model` writes a classifier; `tl_keras.check_export`
    checks it.

    Args:
        index: a `tl_keras.SimilarityIndex`.
        model_or_base: the base (or model) that computed the index's
            embeddings: its features must have the index's dimension.
        export_dir: the model's directory, such as `"saved_models/similar"`.
        k: results per query. Defaults to `10`.
        version: the integer version. Defaults to `None`: the next one.
        resize: how `serving_bytes` resizes images. Defaults to `"crop"`.
        verbose: one line (`0` hides it). Defaults to `"auto"`.

    Returns:
        The path of the written version directory.

    Example:

    >>> emb = tl_keras.embed(model, "flower_photos", verbose=0)
    >>> index = tl_keras.SimilarityIndex(emb)
    >>> tl_keras.export_similarity(index, model, "saved_models/similar", k=3, verbose=0)
    'saved_models/similar/1'
    """
    if not isinstance(index, SimilarityIndex):
        raise ValueError("Expected a tl_keras.SimilarityIndex. Received: index of type "
                         f"{type(index).__name__}")
    check_resize(resize)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or \
            not 1 <= k <= len(index):
        raise ValueError(f"Expected `k` in [1, {len(index)}]. Received: k={k!r}")
    extractor = feature_extractor(model_or_base)
    dimension = extractor.output_shape[-1]
    if dimension != index.embeddings.dimension:
        raise ValueError(f"The model's features have {dimension} values, the index's "
                         f"{index.embeddings.dimension}: pass the base that embedded them. "
                         f"Received: model_or_base={getattr(model_or_base, 'name', '?')!r}")
    shape = tuple(extractor.input_shape[1:])
    if None in shape:
        raise ValueError("Expected a base with a fixed input size. Received: input shape "
                         f"{shape}")
    export_dir = layout.check_export_dir(export_dir)
    version = layout.next_version(export_dir, version)
    with staging.staged_version(export_dir, version) as staged:
        _write(staged.path, extractor, _Index(index), int(k), shape, resize)
        layout.write_model_card(staged.path, _card(
            index, model_or_base, export_dir, staged.version, int(k), shape, resize))
    path = os.path.join(export_dir, str(staged.version))
    say(f"Exported a similarity search over {len(index)} items (top {k}) to {path}.",
        verbose)
    return path


def _write(path, extractor, table, k, shape, resize):
    archive = keras.export.ExportArchive()
    archive.track(extractor)
    archive.track(table)
    archive.add_endpoint(
        name="serving_default",
        fn=lambda images: table.search(extractor(images, training=False), k),
        input_signature=[tf.TensorSpec((None,) + shape, tf.float32, name="images")])
    archive.add_endpoint(
        name="serving_bytes",
        fn=lambda image_bytes: table.search(
            extractor(decode_images(image_bytes, shape[:2], resize), training=False), k),
        input_signature=[tf.TensorSpec((None,), tf.string, name="image_bytes")])
    archive.write_out(path, verbose=False)


def _card(index, model_or_base, export_dir, version, k, shape, resize):
    identity = (model_or_base.base_identity if isinstance(model_or_base, TransferModel)
                else identity_of(model_or_base))
    return {
        "name": layout.model_name(export_dir), "version": version,
        "kind": "similarity search",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "tl_keras_version": __version__,
        "input": {"name": "images", "shape": list(shape), "dtype": "float32",
                  "pixel_range": [0, 255], "resize": resize},
        "outputs": {"ids": f"string [batch, {k}]", "scores": f"float32 [batch, {k}], "
                    "whitened cosine similarity, the most similar first"},
        "index": {"items": len(index), "dimension": index.embeddings.dimension, "k": k,
                  "whitened": index.space.projection is not None},
        "base": identity,
    }
