"""Serving-complete exports: signatures, TF Serving request shapes, warmup,
check_export, the model library, interrupted exports and TFLite."""

import base64
import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

import tl_keras as tlk
from tests.fixtures.images import random_images
from tl_keras.cli import main
from tl_keras.export.warmup import sample_jpeg

# End to end (training, exporting, subprocesses): the full tier, `make test`.
pytestmark = pytest.mark.slow

CLASSES = ["cat", "dog", "fox"]


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(5)
    model = tlk.build_model("vgg16", num_classes=3, weights=None, input_shape=(32, 32, 3))
    head = model.head.get_layer("predictions")
    head.kernel.assign(np.random.default_rng(0).normal(0, 10, head.kernel.shape))
    return model


@pytest.fixture(scope="module")
def export(model, tmp_path_factory):
    root = tmp_path_factory.mktemp("library")
    path = tlk.export_saved_model(model, str(root / "pets"), class_names=CLASSES, top_k=2)
    return path


def _loaded(path):
    return tf.saved_model.load(path).signatures


@pytest.mark.compat
def test_every_signature_matches_the_keras_model(model, export):
    signatures = _loaded(export)
    assert sorted(signatures) == ["classify", "features", "serving_bytes", "serving_default"]
    images = (random_images(4, seed=2) * 0.2
              + np.linspace(0, 200, 4)[:, None, None, None]).astype("float32")
    expected = model.predict(images, verbose=0)
    out = signatures["serving_default"](images=tf.constant(images))
    np.testing.assert_allclose(out["probabilities"], expected, rtol=1e-4, atol=1e-6)
    assert out["classes"].shape == (4, 2)  # top_k=2
    ranked = [[CLASSES[i] for i in np.argsort(-row)[:2]] for row in expected]
    assert [[c.decode() for c in row] for row in out["classes"].numpy()] == ranked

    pooled = model.feature_model()
    features = signatures["features"](images=tf.constant(images))["features"]
    np.testing.assert_allclose(features, pooled.predict(images, verbose=0), rtol=1e-4,
                               atol=1e-5)

    jpeg = sample_jpeg((48, 40), seed=3)
    import tempfile

    from tl_keras.data.image_files import load_images
    with tempfile.NamedTemporaryFile(suffix=".jpg") as f:
        f.write(jpeg)
        f.flush()
        image = load_images([f.name], (32, 32))
    expected_bytes = model.predict(image, verbose=0)
    out = signatures["serving_bytes"](image_bytes=tf.constant([jpeg]))
    np.testing.assert_allclose(out["probabilities"], expected_bytes, rtol=1e-4, atol=1e-6)
    example = tf.train.Example(features=tf.train.Features(feature={
        "image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(value=[jpeg]))}))
    out = signatures["classify"](inputs=tf.constant([example.SerializeToString()]))
    np.testing.assert_allclose(out["scores"][0, 0], expected_bytes.max(), rtol=1e-4)


def test_a_bad_image_fails_the_request_only(export):
    serve = _loaded(export)["serving_bytes"]
    with pytest.raises(tf.errors.InvalidArgumentError):
        serve(image_bytes=tf.constant([sample_jpeg((32, 32)), b"not an image"]))
    out = serve(image_bytes=tf.constant([sample_jpeg((32, 32))]))  # still serving
    assert out["probabilities"].shape == (1, 3)


def test_readme_rest_payloads_run_through_the_signatures(model, export):
    """The request bodies of README's "Serve it with TF Serving", as TF Serving
    turns them into tensors."""
    signatures = _loaded(export)
    jpeg = sample_jpeg((64, 64), seed=1)
    b64 = base64.b64encode(jpeg).decode()
    image = np.random.default_rng(0).uniform(0, 255, (32, 32, 3)).round(1).tolist()
    # POST /v1/models/pets:predict
    predict = json.loads(json.dumps({"instances": [image]}))
    out = signatures["serving_default"](images=tf.constant(predict["instances"], tf.float32))
    np.testing.assert_allclose(out["probabilities"],
                               model.predict(np.array([image], "float32"), verbose=0),
                               rtol=1e-4, atol=1e-6)
    # POST /v1/models/pets:predict, base64 JPEG
    body = {"signature_name": "serving_bytes", "instances": [{"b64": b64}]}
    raw = [base64.b64decode(i["b64"]) for i in json.loads(json.dumps(body))["instances"]]
    out = signatures[body["signature_name"]](image_bytes=tf.constant(raw))
    assert out["classes"].shape == (1, 2)
    # POST /v1/models/pets:classify
    body = {"signature_name": "classify", "examples": [{"image/encoded": {"b64": b64}}]}
    examples = [tf.train.Example(features=tf.train.Features(feature={
        key: tf.train.Feature(bytes_list=tf.train.BytesList(
            value=[base64.b64decode(value["b64"])]))
        for key, value in example.items()})).SerializeToString()
        for example in json.loads(json.dumps(body))["examples"]]
    out = signatures[body["signature_name"]](inputs=tf.constant(examples))
    assert out["scores"].shape == (1, 2)


def test_warmup_requests_parse_as_prediction_logs(export):
    from tensorflow_serving.apis import prediction_log_pb2

    path = os.path.join(export, "assets.extra", "tf_serving_warmup_requests")
    logs = []
    for record in tf.data.TFRecordDataset(path):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record.numpy())
        logs.append(log)
    kinds = sorted(log.WhichOneof("log_type") for log in logs)
    assert kinds == ["classify_log", "predict_log", "predict_log", "predict_log"]
    signatures = _loaded(export)
    for log in logs:  # each request runs as TF Serving would replay it
        if log.HasField("predict_log"):
            request = log.predict_log.request
            inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
            signatures[request.model_spec.signature_name](
                **{k: tf.constant(v) for k, v in inputs.items()})
        else:
            examples = log.classify_log.request.input.example_list.examples
            signatures["classify"](inputs=tf.constant([e.SerializeToString()
                                                       for e in examples]))


def test_signature_names_and_methods(export):
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(export, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    defs = proto.meta_graphs[0].signature_def
    assert defs["classify"].method_name == "tensorflow/serving/classify"
    assert set(defs["serving_default"].inputs) == {"images"}
    assert set(defs["serving_default"].outputs) == {"probabilities", "classes", "scores"}
    assert set(defs["serving_bytes"].inputs) == {"image_bytes"}
    assert set(defs["classify"].inputs) == {"inputs"}
    assert set(defs["features"].outputs) == {"features"}


def test_choosing_signatures_and_no_class_names(model, tmp_path):
    path = tlk.export_saved_model(model, str(tmp_path / "a"), class_names=CLASSES,
                                  signatures=["serving_bytes"])
    assert sorted(_loaded(path)) == ["serving_bytes", "serving_default"]
    with pytest.warns(UserWarning, match="without class names"):
        path = tlk.export_saved_model(model, str(tmp_path / "b"))
    signatures = _loaded(path)
    assert "classify" not in signatures
    assert list(signatures["serving_default"].structured_outputs) == ["probabilities"]
    with pytest.raises(ValueError, match=r"classify.*needs class_names"):
        tlk.export_saved_model(model, str(tmp_path / "c"), signatures=["classify"])


@pytest.mark.compat
def test_check_export_passes_and_fails_on_a_broken_export(export, tmp_path, capsys):
    report = tlk.check_export(os.path.dirname(export))
    text = str(report)
    assert report.ok, text
    for expected in ("loads with TensorFlow alone", "every op is known",
                     "serving_default predicts what the Keras model predicts",
                     "serving_bytes decodes and predicts", "classify has TF Serving's"):
        assert expected in text
    assert main(["check", os.path.dirname(export)]) == 0
    capsys.readouterr()

    import shutil
    broken_root = tmp_path / "broken"
    shutil.copytree(os.path.dirname(export), broken_root / "pets")
    version = broken_root / "pets" / "1"
    for name in os.listdir(version / "variables"):
        (version / "variables" / name).write_bytes(b"\0" * 16)  # corrupt weights
    assert main(["check", str(broken_root / "pets")]) == 1
    assert "FAIL" in capsys.readouterr().out
    (broken_root / "empty").mkdir()
    assert main(["check", str(broken_root / "empty")]) == 1
    assert "no integer version directory" in capsys.readouterr().out


def test_model_library_lists_versions_lineage_and_foreign_entries(model, tmp_path, capsys):
    root = tmp_path / "saved_models"
    tlk.export_saved_model(model, str(root / "pets"), class_names=CLASSES,
                           metrics={"val_accuracy": 0.75})
    base = tlk.load_base(str(root / "pets"))
    child = tlk.build_model(base, num_classes=2)
    tlk.export_saved_model(child, str(root / "pets_v2"), class_names=["a", "b"])
    (root / "pets" / "staging").mkdir()
    (root / "pets" / "7").mkdir()  # a broken version: no SavedModel
    (root / "notes").mkdir()
    entries = tlk.list_models(str(root))
    summary = [(e["name"], e["version"], e["status"].split(":")[0]) for e in entries]
    assert summary == [("notes", None, "foreign"), ("pets", 1, "ok"), ("pets", 7, "broken"),
                       ("pets", "staging", "foreign"), ("pets_v2", 1, "ok")]
    first = entries[1]
    assert first["base"] == "vgg16" and first["classes"] == CLASSES
    assert first["metrics"] == {"val_accuracy": 0.75}
    assert entries[-1]["lineage"] == ["pets/1"]
    assert main(["models", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "pets_v2" in out and "from pets/1" in out and "0.750" in out


_KILLED_EXPORT = """
import sys, time
import numpy as np
import tl_keras as tlk
model = tlk.build_model("vgg16", num_classes=2, weights=None, input_shape=(32, 32, 3))
original = type(model).save
def slow_save(self, *args, **kwargs):
    print("WRITING", flush=True)
    time.sleep(60)
type(model).save = slow_save
tlk.export_saved_model(model, sys.argv[1], class_names=["a", "b"])
"""


def test_an_export_killed_mid_write_leaves_nothing_to_serve(model, tmp_path):
    export_dir = tmp_path / "pets"
    process = subprocess.Popen([sys.executable, "-c", _KILLED_EXPORT, str(export_dir)],
                               stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 240
        line = ""
        while "WRITING" not in line and time.time() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
        assert "WRITING" in line
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    entries = os.listdir(export_dir)
    assert not [e for e in entries if e.isdigit()]  # nothing TF Serving would load
    assert [e for e in entries if e.startswith(".tmp-")]  # the half-written temporary
    path = tlk.export_saved_model(model, str(export_dir), class_names=CLASSES)
    assert os.listdir(export_dir) == ["1"]  # the abandoned temporary was cleaned up
    assert path.endswith("1")


_HOLD_LOCK = """
import fcntl, sys, time

f = open(sys.argv[1], "r+")
fcntl.flock(f, fcntl.LOCK_EX)
print("LOCKED", flush=True)
time.sleep(120)
"""


def test_a_live_export_elsewhere_is_never_cleaned_up(tmp_path):
    """A writer in another PID namespace (a second container) has process ids
    this one cannot see: its lock, not its process id, says it is alive."""
    import socket

    from tl_keras.export import staging

    live = tmp_path / ".tmp-1-aaaaaaaaaaaa"
    live.mkdir()
    (tmp_path / ".tmp-1-aaaaaaaaaaaa.lock").write_text(socket.gethostname())
    writer = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK,
                               str(tmp_path / ".tmp-1-aaaaaaaaaaaa.lock")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "LOCKED"
        foreign = tmp_path / ".tmp-2-bbbbbbbbbbbb"  # written from another host
        foreign.mkdir()
        (tmp_path / ".tmp-2-bbbbbbbbbbbb.lock").write_text("another-host")
        staging.remove_abandoned_temporaries(str(tmp_path))
        assert live.is_dir() and foreign.is_dir()  # both may still be writing
        old = time.time() - staging.FOREIGN_AGE_SECONDS - 60
        os.utime(foreign, (old, old))
        staging.remove_abandoned_temporaries(str(tmp_path))
        assert live.is_dir() and not foreign.exists()  # a day old: abandoned
    finally:
        writer.kill()
        writer.wait(30)
    staging.remove_abandoned_temporaries(str(tmp_path))  # its writer died: cleaned
    assert sorted(os.listdir(tmp_path)) == []


@pytest.mark.parametrize("quantize,tolerance", [(None, 1e-4), ("dynamic", 0.05),
                                                ("float16", 0.02)])
@pytest.mark.compat
def test_tflite_matches_the_keras_model(model, tmp_path, quantize, tolerance):
    path = tlk.export_tflite(model, str(tmp_path / "pets.tflite"), class_names=CLASSES,
                             quantize=quantize)
    with open(str(tmp_path / "pets.labels.txt")) as f:
        assert f.read().splitlines() == CLASSES
    # Issue 34 row 23: what the client must do to an image, shipped beside the model.
    with open(str(tmp_path / "pets.input.json")) as f:
        expected = json.load(f)
    assert expected["image_size"] == list(model.input_shape[1:3])
    assert expected["resize"] == "crop" and "central crop" in expected["resize_means"]
    assert expected["pixel_range"] == [0, 255] and expected["class_names"] == CLASSES
    interpreter = tf.lite.Interpreter(model_path=path)
    runner = interpreter.get_signature_runner("serving_default")
    images = random_images(2, seed=9)
    out = runner(images=images)["probabilities"]
    np.testing.assert_allclose(out, model.predict(images, verbose=0), atol=tolerance)
    with pytest.raises(ValueError, match="Received: quantize='int4'"):
        tlk.export_tflite(model, str(tmp_path / "x.tflite"), quantize="int4")


def test_the_keras_free_probe_runs_from_its_file(export, tmp_path):
    from tl_keras.export import keras_free_probe

    # A real file in the package (a linter reads it), run by its path.
    assert keras_free_probe.__file__.endswith(os.path.join("export", "keras_free_probe.py"))
    images = str(tmp_path / "images.npy")
    np.save(images, random_images(2))
    request, result = tmp_path / "request.json", tmp_path / "result.json"
    request.write_text(json.dumps({"calls": {"serving_default": {"images": ["npy", images]},
                                             "nope": {}}}))
    done = subprocess.run([sys.executable, keras_free_probe.__file__, export, str(request),
                           str(result)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(result.read_text())
    assert out["imported"] == [] and out["unknown_ops"] == []
    assert np.asarray(out["outputs"]["serving_default"]["probabilities"]).shape == (2, 3)
    assert sorted(out["signatures"]) == ["classify", "features", "serving_bytes",
                                         "serving_default"]
