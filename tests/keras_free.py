"""Runs a SavedModel in a Python process where keras, tf_keras, tensorflow_hub and
tl_keras cannot be imported, as TF Serving or a plain TensorFlow user would."""

import os

import numpy as np

from tl_keras.export.check import run_keras_free


def serve_without_keras(version_dir, images, tmp_path, signature="serving_default"):
    """Returns the outputs of `signature` for `images` ([0, 255] floats, or a
    list of strings for a text model), computed in a keras-free process."""
    if isinstance(images, list):
        call = {"texts": ("value", images)}
    else:
        path = os.path.join(tmp_path, "inputs.npy")
        np.save(path, np.asarray(images, dtype="float32"))
        call = {"images": ("npy", path)}
    result = run_keras_free(version_dir, {signature: call}, str(tmp_path))
    assert result["imported"] == []
    outputs = result["outputs"][signature]
    assert "error" not in outputs, outputs
    return outputs
