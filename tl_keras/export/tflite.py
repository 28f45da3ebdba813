"""TFLite export, for phones and edge devices."""

import json
import os
import tempfile

import keras
import tensorflow as tf

from tl_keras.data.image_files import DEFAULT_RESIZE
from tl_keras.data.image_files import RESIZE_POLICIES
from tl_keras.data.image_files import check_resize
from tl_keras.log import native_lines_held
from tl_keras.models.parts import class_names_of
from tl_keras.models.transfer_model import check_class_names

QUANTIZATIONS = (None, "dynamic", "float16")


def export_tflite(model, path, *, class_names=None, quantize=None, resize=DEFAULT_RESIZE):
    """Converts `model` to a TFLite flatbuffer, with its class names alongside.

    The TFLite model has one signature, `serving_default`: `images` (float32
    `[batch, height, width, 3]`, pixels in [0, 255], preprocessing inside) ->
    `probabilities`. Class names go to `<path without .tflite>.labels.txt`, one
    per line in output order, and what the client must do to an image before
    it goes in to `<path without .tflite>.input.json`: `image_size`
    (height, width), `pixel_range`, `channels` (RGB), `resize` (the policy the
    model was trained with, and what it means: a stretched resize of a photo
    the model saw centre-cropped changes its predictions), `class_names`.

    Args:
        model: a Keras image classifier (from `tl_keras.build_model`).
        path: the `.tflite` file to write (written atomically).
        class_names: names of the output classes. Defaults to `None`: the
            model's own `class_names`.
        quantize: `None` (float32), `"dynamic"` (int8 weights, about 4x
            smaller) or `"float16"` (float16 weights, 2x smaller). Defaults to
            `None`.
        resize: how the training images were resized (`tl_keras.image_dataset`'s
            `resize`), written for the client. Defaults to `"crop"`.

    Returns:
        The path of the `.tflite` file.

    Example:

    >>> tl_keras.export_tflite(model, "flowers.tflite", class_names=class_names,
    ...                        quantize="dynamic")
    'flowers.tflite'
    """
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"Expected `quantize` in {QUANTIZATIONS}. "
                         f"Received: quantize={quantize!r}")
    check_resize(resize)
    path = os.fspath(path)
    if tf.io.gfile.isdir(path):
        raise ValueError(f"Expected a file path for the .tflite model, not a directory. "
                         f"Received: path={path!r}")
    if class_names is None:
        class_names = class_names_of(model)
    class_names = check_class_names(class_names, model.output_shape[-1])
    with tempfile.TemporaryDirectory() as saved_model_dir:
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint(
            name="serving_default",
            fn=lambda images: {"probabilities": tf.cast(model(images, training=False),
                                                        tf.float32)},
            input_signature=[tf.TensorSpec((None,) + tuple(model.input_shape[1:]),
                                           tf.float32, name="images")],
        )
        archive.write_out(saved_model_dir, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(
            saved_model_dir, signature_keys=["serving_default"])
        if quantize:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        with native_lines_held():  # the converter's absl lines, without --verbose
            flatbuffer = converter.convert()
    directory = os.path.dirname(path)
    if directory:
        tf.io.gfile.makedirs(directory)
    tmp = f"{path}.tmp-{os.getpid()}"
    with tf.io.gfile.GFile(tmp, "wb") as f:
        f.write(flatbuffer)
    tf.io.gfile.rename(tmp, path, overwrite=True)  # a reader never sees half a file
    if class_names:
        with tf.io.gfile.GFile(labels_path(path), "w") as f:
            f.write("".join(f"{name}\n" for name in class_names))
    height, width = model.input_shape[1:3]
    with tf.io.gfile.GFile(input_path(path), "w") as f:
        f.write(json.dumps({"image_size": [height, width], "channels": "RGB",
                            "pixel_range": [0, 255], "dtype": "float32",
                            "resize": resize, "resize_means": RESIZE_POLICIES[resize],
                            "class_names": class_names}, indent=2) + "\n")
    return path


def input_path(path):
    """Where `export_tflite` writes what the model at `path` expects of an image."""
    stem = path[:-len(".tflite")] if path.endswith(".tflite") else path
    return f"{stem}.input.json"


def labels_path(path):
    """Where `export_tflite` writes the class names of the model at `path`."""
    stem = path[:-len(".tflite")] if path.endswith(".tflite") else path
    return f"{stem}.labels.txt"
