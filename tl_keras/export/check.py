"""check_export: what a careful deployer checks before shipping an export.

1. The layout TF Serving needs: integer version directories holding a
   SavedModel (foreign entries are reported).
2. The SavedModel loads with TensorFlow's loader in a fresh process where
   keras, tf_keras, tensorflow_hub and tl_keras cannot be imported, every op is
   known to that TensorFlow runtime, and each signature's inputs and outputs
   are listed.
3. Its predictions equal the Keras model's (`keras/model.keras`) on sample
   inputs, and the bytes and classify paths run on a sample image.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from tl_keras.data.image_files import DEFAULT_RESIZE
from tl_keras.data.image_files import load_images
from tl_keras.export import keras_free_probe
from tl_keras.export.warmup import sample_jpeg
from tl_keras.io import layout
from tl_keras.log import say

TOLERANCE = 1e-4


def run_keras_free(version_dir, calls, work_dir, op_packages=()):
    """Loads `version_dir` in a fresh process that cannot import keras, tf_keras,
    tensorflow_hub or tl_keras, and runs signatures on the given inputs.

    Args:
        version_dir: a SavedModel directory.
        calls: `{signature: {input_name: (kind, value)}}` with kind `"npy"` (a
            path to a .npy file), `"bytes_files"` (image file paths),
            `"examples"` (image file paths, sent as `tf.Example`s) or
            `"value"` (a JSON value).
        work_dir: a directory for the request and result files.
        op_packages: packages whose op libraries are loaded first (the model
            card's `serving_op_packages`). Defaults to `()`.

    Returns:
        A dict with `signatures` (inputs, outputs, method of each),
        `outputs` (per called signature: its outputs, or `error`),
        `unknown_ops` and `imported` (blocked modules found imported: `[]`).

    Raises:
        RuntimeError: if the process failed (the SavedModel did not load).
    """
    version_dir = os.fspath(version_dir)
    if version_dir.startswith("ram://"):  # in this process's memory: the probe reads a copy
        version_dir = _local_copy(version_dir, os.path.join(work_dir, "version"))
    request_path = os.path.join(work_dir, "request.json")
    result_path = os.path.join(work_dir, "result.json")
    with open(request_path, "w") as f:  # local: the probe's own temporary files
        json.dump({"calls": calls, "op_packages": list(op_packages)}, f)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    # Run by its path (`python -m` would import the tl_keras package first).
    done = subprocess.run(
        [sys.executable, keras_free_probe.__file__, os.fspath(version_dir), request_path,
         result_path],
        capture_output=True, text=True, env=env, timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip()[-2000:] or "the process failed")
    with open(result_path) as f:  # local: the probe's own temporary files
        return json.load(f)


def _local_copy(source, target):
    """Copies a directory tree (any filesystem tf.io.gfile knows) to `target`."""
    gfile = layout.gfile
    for path in layout.files_under(source):
        copy = target + path[len(source):]
        gfile.makedirs(os.path.dirname(copy))
        gfile.copy(path, copy, overwrite=True)
    return target


class ExportReport:
    """The result of `check_export`: `ok`, and one line per check."""

    def __init__(self, path):
        self.path = path
        self.lines = []
        self.failures = 0

    def add(self, ok, message):
        self.lines.append(("ok  " if ok else "FAIL") + "  " + message)
        self.failures += 0 if ok else 1

    def note(self, message):
        self.lines.append("note  " + message)

    @property
    def ok(self):
        return self.failures == 0

    def __str__(self):
        verdict = "ready to serve" if self.ok else f"{self.failures} check(s) failed"
        return "\n".join([f"Export check of {self.path}:"] + self.lines + [verdict])


def check_export(path, *, verbose=True):
    """Checks an export the way a careful deployer would, before shipping it.

    Args:
        path: a model directory (`saved_models/NAME`: its latest version is
            checked) or one version directory.
        verbose: print the report. Defaults to `True`.

    Returns:
        An `ExportReport`; `report.ok` is `False` when any check failed.

    Example:

    >>> report = tl_keras.check_export("saved_models/flowers")
    Export check of saved_models/flowers:
    ok    layout: versions [1, 2]
    ok    loads with TensorFlow alone (no keras, tf_keras, tensorflow_hub, tl_keras)
    ...
    ready to serve
    >>> report.ok
    True
    """
    path = os.fspath(path)
    report = ExportReport(path)
    version_dir = _check_layout(path, report)
    if version_dir is not None:
        with tempfile.TemporaryDirectory() as work_dir:
            _check_serving(version_dir, work_dir, report)
    say(str(report), verbose)
    return report


def _check_layout(path, report):
    if not layout.gfile.isdir(path):
        report.add(False, f"layout: {path} is not a directory")
        return None
    if layout.is_version_dir(path):
        name = os.path.basename(os.path.normpath(path))
        report.add(name.isdigit(), f"layout: version directory name {name!r} "
                   + ("is an integer" if name.isdigit() else
                      "is not an integer: TF Serving will not find it"))
        return path
    versions = layout.list_versions(path)
    foreign = sorted(e for e in (e.rstrip("/") for e in layout.gfile.listdir(path))
                     if not e.isdigit() and not e.startswith(".")
                     and layout.gfile.isdir(os.path.join(path, e)))
    if not versions:
        report.add(False, f"layout: no integer version directory in {path} (TF Serving "
                          "serves saved_models/NAME/<integer>/)")
        return None
    broken = [v for v in versions
              if not layout.is_version_dir(os.path.join(path, str(v)))]
    report.add(not broken, f"layout: versions {versions}"
               + (f"; without saved_model.pb: {broken}" if broken else ""))
    if foreign:
        report.note(f"layout: directories TF Serving ignores: {foreign}")
    latest = os.path.join(path, str(versions[-1]))
    return None if versions[-1] in broken else latest


def _check_serving(version_dir, work_dir, report):
    card = layout.read_model_card(version_dir)
    text = card.get("input", {}).get("name") == "texts"
    calls, samples = _sample_calls(card, work_dir, text)
    try:
        result = run_keras_free(version_dir, calls, work_dir,
                                card.get("serving_op_packages", ()))
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        report.add(False, "loads with TensorFlow alone (no keras, tf_keras, tensorflow_hub, "
                          f"tl_keras): it did not: {str(error)[-600:]}")
        return
    report.add(not result["imported"],
               "loads with TensorFlow alone (no keras, tf_keras, tensorflow_hub, tl_keras)")
    report.add(not result["unknown_ops"],
               "every op is known to this TensorFlow runtime"
               + (f": unknown {result['unknown_ops']}" if result["unknown_ops"] else ""))
    for package in card.get("serving_op_packages", ()):
        report.note(f"needs the ops of {package} ({', '.join(result['package_ops'])}): TF "
                    f"Serving needs a model server built with them; in Python, `import "
                    f"{package.replace('-', '_')}` before loading")
    for name, signature in sorted(result["signatures"].items()):
        inputs = ", ".join(f"{k} {v[0]}{v[1]}" for k, v in signature["inputs"].items())
        outputs = ", ".join(f"{k} {v[0]}{v[1]}"
                            for k, v in sorted(signature["outputs"].items()))
        report.add(True, f"signature {name}: ({inputs}) -> ({outputs})")
    if "serving_default" not in result["signatures"]:
        report.add(False, "signature serving_default is missing (TF Serving's default)")
    for name, outputs in sorted(result["outputs"].items()):
        if "error" in outputs:
            report.add(False, f"{name} runs on a sample input: {outputs['error']}")
        else:
            report.add(True, f"{name} runs on a sample input")
    classify = result["signatures"].get("classify")
    if classify is not None:
        report.add(classify["method"] == "tensorflow/serving/classify",
                   f"classify has TF Serving's Classify method ({classify['method']!r})")
    _compare_with_keras(version_dir, card, samples, result["outputs"], report, text)


def _sample_calls(card, work_dir, text):
    if text:
        texts = ["a short sample text", "another one"]
        return {"serving_default": {"texts": ("value", texts)}}, {"texts": texts}
    height, width = card.get("input", {}).get("shape", [224, 224, 3])[:2]
    images = np.random.default_rng(0).uniform(0, 255, (3, height, width, 3)).astype("float32")
    images_path = os.path.join(work_dir, "images.npy")
    np.save(images_path, images)
    jpeg_path = os.path.join(work_dir, "sample.jpg")
    with open(jpeg_path, "wb") as f:  # local: the probe's own temporary files
        f.write(sample_jpeg((height + 17, width + 9)))  # another size: resized in the graph
    calls = {
        "serving_default": {"images": ("npy", images_path)},
        "serving_bytes": {"image_bytes": ("bytes_files", [jpeg_path])},
        "classify": {"inputs": ("examples", [jpeg_path])},
        "features": {"images": ("npy", images_path)},
    }
    return calls, {"images": images, "jpeg": jpeg_path, "size": (height, width)}


def _compare_with_keras(version_dir, card, samples, outputs, report, text):
    if not layout.has_keras_model(version_dir):
        report.note(f"no {layout.KERAS_MODEL}: predictions not compared with a Keras model")
        return
    try:
        model = layout.load_keras_model(version_dir)
    except ValueError as error:
        if "safe mode" not in str(error):
            raise
        report.note(f"{layout.KERAS_MODEL} not compared: {error}")
        return
    served = outputs.get("serving_default", {})
    if "probabilities" not in served:
        return
    if text:
        import tensorflow as tf

        expected = model.predict(tf.constant(samples["texts"]), verbose=0)
    else:
        expected = model.predict(samples["images"], verbose=0)
    gap = float(np.max(np.abs(np.asarray(served["probabilities"]) - expected)))
    report.add(gap <= TOLERANCE, f"serving_default predicts what the Keras model predicts "
                                 f"(largest difference {gap:.2g})")
    if text or "probabilities" not in outputs.get("serving_bytes", {}):
        return

    image = load_images([samples["jpeg"]], samples["size"], card.get("resize", DEFAULT_RESIZE))
    expected = model.predict(image, verbose=0)
    gap = float(np.max(np.abs(np.asarray(outputs["serving_bytes"]["probabilities"])
                              - expected)))
    report.add(gap <= TOLERANCE, "serving_bytes decodes and predicts as the Keras model on "
                                 f"the same JPEG (largest difference {gap:.2g})")
    classify = outputs.get("classify", {})
    if "scores" in classify:
        ranked = np.concatenate([1 - expected, expected], axis=-1) \
            if expected.shape[-1] == 1 else expected
        top = float(np.max(ranked))
        gap = abs(classify["scores"][0][0] - top)
        report.add(gap <= TOLERANCE, f"classify's best score matches (difference {gap:.2g})")
