"""The serving signatures of an exported model, in TensorFlow ops only.

- `serving_default`: `images` float32 [batch, H, W, 3], pixels in [0, 255]
  (or `texts` string [batch] for a text model) -> `probabilities`, and with
  class names `classes` (best first, top k) and `scores`.
- `serving_bytes`: `image_bytes` string [batch] of encoded JPEG/PNG/GIF/BMP,
  decoded and resized in the graph -> the same outputs.
- `classify`: TF Serving's Classify API: `inputs`, serialized `tf.Example`s
  with the image under `image/encoded` -> `classes`, `scores`.
- `features`: `images` -> `features`, the pooled feature vector.
"""

import tensorflow as tf

from tl_keras.data.image_files import DEFAULT_RESIZE
from tl_keras.data.image_files import decode_rgb
from tl_keras.data.image_files import resize_image
from tl_keras.io.layout import write_file
from tl_keras.models.transfer_model import TransferModel

IMAGE_SIGNATURES = ("serving_default", "serving_bytes", "classify", "features")
TEXT_SIGNATURES = ("serving_default",)
CLASSIFY_METHOD = "tensorflow/serving/classify"
IMAGE_KEY = "image/encoded"


def available_signatures(model, class_names):
    """The signatures an export of `model` can have, in order."""
    if is_text_model(model):
        return TEXT_SIGNATURES
    names = list(IMAGE_SIGNATURES)
    if not class_names:
        names.remove("classify")  # the Classify API returns class names
    if not isinstance(model, TransferModel):
        names.remove("features")  # where the feature vector is, only a tl_keras model says
    return tuple(names)


def check_signatures(model, class_names, signatures):
    available = available_signatures(model, class_names)
    if signatures is None:
        return available
    chosen = (signatures,) if isinstance(signatures, str) else tuple(signatures)
    unknown = [name for name in chosen if name not in available]
    if unknown or not chosen:
        why = " (`classify` needs class_names)" if "classify" in unknown else ""
        raise ValueError(
            f"Unknown or unavailable signatures{why}. Expected some of {list(available)}. "
            f"Received: signatures={list(chosen)}"
        )
    if "serving_default" not in chosen:
        chosen = ("serving_default",) + chosen  # TF Serving's default requests need it
    return chosen


def is_text_model(model):
    return model.inputs[0].dtype == "string"


def prediction_outputs(model, inputs, class_names, top_k):
    """`probabilities`, and with class names `classes` and `scores` (top k)."""
    probabilities = tf.cast(model(inputs, training=False), tf.float32)
    outputs = {"probabilities": probabilities}
    if class_names:
        ranked = probabilities
        if probabilities.shape[-1] == 1:  # one sigmoid unit: [negative, positive]
            ranked = tf.concat([1.0 - probabilities, probabilities], axis=-1)
        k = min(top_k or len(class_names), len(class_names))
        scores, indices = tf.math.top_k(ranked, k=k)
        outputs["classes"] = tf.gather(tf.constant(class_names), indices)
        outputs["scores"] = scores
    return outputs


def decode_images(image_bytes, size, resize=DEFAULT_RESIZE):
    """Decodes a batch of encoded images to float32 [batch, h, w, 3] in [0, 255].

    An undecodable image fails the whole request with InvalidArgumentError: an
    error for that request, never a crash of the server.
    """
    return tf.map_fn(
        lambda data: resize_image(decode_rgb(data, size), size, resize),
        image_bytes,
        fn_output_signature=tf.TensorSpec(tuple(size) + (3,), tf.float32),
    )


def add_signatures(archive, model, class_names, signatures, *, top_k, resize):
    """Adds the chosen signatures to a `keras.export.ExportArchive`."""
    if is_text_model(model):
        archive.add_endpoint(
            name="serving_default",
            fn=lambda texts: prediction_outputs(model, texts, class_names, top_k),
            input_signature=[tf.TensorSpec((None,) + tuple(model.input_shape[1:]),
                                           tf.string, name="texts")],
        )
        return
    size = tuple(model.input_shape[1:3])
    images_spec = tf.TensorSpec((None,) + tuple(model.input_shape[1:]), tf.float32,
                                name="images")
    if "serving_default" in signatures:
        archive.add_endpoint(
            name="serving_default",
            fn=lambda images: prediction_outputs(model, images, class_names, top_k),
            input_signature=[images_spec],
        )
    if "serving_bytes" in signatures:
        archive.add_endpoint(
            name="serving_bytes",
            fn=lambda image_bytes: prediction_outputs(
                model, decode_images(image_bytes, size, resize), class_names, top_k),
            input_signature=[tf.TensorSpec((None,), tf.string, name="image_bytes")],
        )
    if "classify" in signatures:
        def classify(inputs):
            parsed = tf.io.parse_example(
                inputs, {IMAGE_KEY: tf.io.FixedLenFeature([], tf.string)})
            outputs = prediction_outputs(
                model, decode_images(parsed[IMAGE_KEY], size, resize), class_names, top_k)
            return {"classes": outputs["classes"], "scores": outputs["scores"]}

        archive.add_endpoint(
            name="classify", fn=classify,
            input_signature=[tf.TensorSpec((None,), tf.string, name="inputs")],
        )
    if "features" in signatures:
        extractor = model.feature_model()
        archive.add_endpoint(
            name="features",
            fn=lambda images: {"features": tf.cast(extractor(images, training=False),
                                                   tf.float32)},
            input_signature=[images_spec],
        )


def mark_classify_method(saved_model_dir):
    """Gives the `classify` signature TF Serving's Classify method name.

    `tf.saved_model.save` names every signature a Predict one; TF Serving's
    Classify API only accepts signatures whose method is classify.
    """
    from tensorflow.core.protobuf import saved_model_pb2

    path = f"{saved_model_dir}/saved_model.pb"
    proto = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(path, "rb") as f:
        proto.ParseFromString(f.read())
    changed = False
    for meta_graph in proto.meta_graphs:
        if "classify" in meta_graph.signature_def:
            meta_graph.signature_def["classify"].method_name = CLASSIFY_METHOD
            changed = True
    if changed:

        write_file(path, proto.SerializeToString())
