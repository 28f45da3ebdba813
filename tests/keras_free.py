"""Runs a SavedModel in a Python process where keras, tf_keras, tensorflow_hub and
tl_keras cannot be imported, as TF Serving or a plain TensorFlow user would."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np

_SCRIPT = textwrap.dedent("""
    import json, sys

    BLOCKED = ("keras", "tf_keras", "tensorflow_hub", "tl_keras")

    class Hiding:
        # As if these packages were not installed: every finder says "not found".
        def __init__(self, finder):
            self.finder = finder

        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                return None
            find = getattr(self.finder, "find_spec", None)
            return find(name, path, target) if find else None

        def __getattr__(self, attribute):
            return getattr(self.finder, attribute)

    sys.meta_path[:] = [Hiding(finder) for finder in sys.meta_path]
    for blocked in BLOCKED:
        try:
            __import__(blocked)
        except ImportError:
            pass
        else:
            raise SystemExit(f"{blocked} could still be imported")
    import numpy as np
    import tensorflow as tf

    version_dir, inputs_path, outputs_path = sys.argv[1:4]
    loaded = tf.saved_model.load(version_dir)
    serve = loaded.signatures["serving_default"]
    outputs = serve(images=tf.constant(np.load(inputs_path)))
    result = {key: value.numpy().tolist() for key, value in outputs.items()}
    result = {k: [[x.decode() if isinstance(x, bytes) else x for x in row] for row in v]
              for k, v in result.items()}
    result["_modules"] = sorted(m for m in sys.modules
                                if m.split(".")[0] in BLOCKED)
    with open(outputs_path, "w") as f:
        json.dump(result, f)
""")


def serve_without_keras(version_dir, images, tmp_path):
    """Returns the `serving_default` outputs of `version_dir` for `images`,
    computed in a fresh process that cannot import keras or tl_keras."""
    inputs_path = os.path.join(tmp_path, "inputs.npy")
    outputs_path = os.path.join(tmp_path, "outputs.json")
    script_path = os.path.join(tmp_path, "serve.py")
    np.save(inputs_path, np.asarray(images, dtype="float32"))
    with open(script_path, "w") as f:
        f.write(_SCRIPT)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    completed = subprocess.run(
        [sys.executable, script_path, version_dir, inputs_path, outputs_path],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    with open(outputs_path) as f:
        result = json.load(f)
    assert result.pop("_modules") == []
    return result
