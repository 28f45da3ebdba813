"""Saved models across versions: each corner of the compatibility run writes a
model, then every corner loads every other corner's files.

    python -m tests.compat_models write DIR NAME   # DIR/NAME.keras, .npz, _export/
    python -m tests.compat_models read DIR NAME    # loads the others' files

`read` prints one JSON line a file: `{"kind": "keras" or "export", "writer":
..., "reader": NAME, "ok": ..., "error": ...}`. For a `.keras` file, ok means it
loaded with `safe_mode=True`, kept its class names and base identity, and
predicts what the writer predicted; for an export (the SavedModel TF Serving
loads), that its `serving_default` signature, loaded by TensorFlow alone,
gives the writer's probabilities. `scripts/test_compat.py` tabulates the lines.
"""

import glob
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import tl_keras as tlk  # noqa: E402

CLASS_NAMES = ["cat", "dog", "fox"]


def probe_images():
    return np.random.default_rng(7).uniform(0, 255, (4, 32, 32, 3)).astype("float32")


def write(directory, name):
    keras.utils.set_random_seed(0)
    model = tlk.build_model("mobilenet_v2", num_classes=3, weights=None,
                            input_shape=(32, 32, 3), class_names=CLASS_NAMES)
    os.makedirs(directory, exist_ok=True)
    model.save(os.path.join(directory, f"{name}.keras"))
    tlk.export_saved_model(model, os.path.join(directory, f"{name}_export"), version=1,
                           verbose=0)
    np.savez(os.path.join(directory, f"{name}.npz"),
             predictions=model.predict(probe_images(), verbose=0),
             keras_version=keras.version())


def _check(path):
    model = keras.saving.load_model(path, safe_mode=True)
    expected = np.load(path[:-len(".keras")] + ".npz")["predictions"]
    if model.class_names != CLASS_NAMES:
        return f"class names {model.class_names!r}"
    if model.base_identity["handle"] != "mobilenet_v2":
        return f"base identity {model.base_identity!r}"
    difference = float(np.max(np.abs(model.predict(probe_images(), verbose=0) - expected)))
    return None if difference < 1e-4 else f"predictions differ by {difference:.2e}"


def _check_export(path):
    import tensorflow as tf

    serve = tf.saved_model.load(path[:-len(".keras")] + "_export/1").signatures[
        "serving_default"]
    expected = np.load(path[:-len(".keras")] + ".npz")["predictions"]
    probabilities = serve(images=tf.constant(probe_images()))["probabilities"].numpy()
    difference = float(np.max(np.abs(probabilities - expected)))
    return None if difference < 1e-4 else f"probabilities differ by {difference:.2e}"


def read(directory, name):
    for path in sorted(glob.glob(os.path.join(directory, "*.keras"))):
        writer = os.path.basename(path)[:-len(".keras")]
        if writer == name:
            continue
        for kind, check in (("keras", _check), ("export", _check_export)):
            try:
                error = check(path)
            except Exception as exception:  # any failure to load is a finding to report
                error = f"{type(exception).__name__}: {str(exception).splitlines()[0][:200]}"
            print(json.dumps({"kind": kind, "writer": writer, "reader": name,
                              "ok": error is None, "error": error}), flush=True)


if __name__ == "__main__":
    command, directory, name = sys.argv[1:4]
    {"write": write, "read": read}[command](directory, name)
