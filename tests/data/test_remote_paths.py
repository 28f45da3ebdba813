"""Issue 24: a whole run on `ram://`, TensorFlow's in-memory filesystem, through
`tf.io.gfile` as `gs://` and `s3://` go (they cannot be reached here)."""

import json
import uuid

import numpy as np
import pytest
import tensorflow as tf

import tl_keras as tlk
from tl_keras.export import staging

pytestmark = pytest.mark.slow


def _ram(name):
    return f"ram://{name}-{uuid.uuid4().hex[:8]}"


def _write_folder(root, per_class=6, size=32):
    rng = np.random.default_rng(0)
    for index, name in enumerate(("cats", "dogs")):
        tf.io.gfile.makedirs(f"{root}/{name}")
        for i in range(per_class):
            image = rng.integers(0, 80, (size, size, 3)).astype("uint8")
            image[..., index] += 150
            tf.io.write_file(f"{root}/{name}/{i}.png", tf.io.encode_png(image))
    tf.io.write_file(f"{root}/cats/notes.jpg", b"not an image")  # counted, named


def test_a_whole_run_on_ram(capsys):
    data, library = _ram("data"), _ram("library")
    _write_folder(data)
    train, val, class_names = tlk.image_dataset(data, image_size=32, validation_split=0.25)
    out = capsys.readouterr().out
    assert "Skipped 1 of 13 files" in out and "cats/notes.jpg" in out
    model = tlk.build_model("mobilenet_v2", num_classes=2, weights=None,
                            input_shape=(32, 32, 3), class_names=class_names)
    tlk.fit_two_phase(model, train, val, epochs=1, fine_tune_epochs=1, verbose=0)
    path = tlk.export_saved_model(model, f"{library}/pets")  # the defaults: warmup too
    assert path == f"{library}/pets/1"
    assert tf.io.gfile.exists(f"{path}/assets.extra/tf_serving_warmup_requests")
    assert sorted(tf.io.gfile.listdir(f"{library}/pets")) == ["1"]  # no staging left
    card = json.loads(tf.io.gfile.GFile(f"{path}/model_card.json").read())
    assert card["name"] == "pets" and card["classes"] == ["cats", "dogs"]
    [entry] = tlk.list_models(library)
    assert (entry["name"], entry["version"], entry["status"]) == ("pets", 1, "ok")
    assert tlk.check_export(f"{library}/pets", verbose=False).ok
    base = tlk.load_base(f"{library}/pets")  # the export as the base of the next model
    child = tlk.build_model(base, num_classes=2)
    assert child.lineage[0]["name"] == "pets"
    tflite = f"{library}/pets.tflite"
    tlk.export_tflite(model, tflite)
    assert tf.io.gfile.stat(tflite).length > 1000
    assert tf.io.gfile.GFile(f"{library}/pets.labels.txt").read().split() == \
        ["cats", "dogs"]


def test_on_an_object_store_a_version_is_published_with_saved_model_pb_last(monkeypatch):
    """No atomic rename on object stores: the staged files are copied into the
    version, `saved_model.pb` last, so TF Serving never finds a SavedModel whose
    variables are still being copied."""
    root = _ram("store")
    copied = []
    original = tf.io.gfile.copy
    monkeypatch.setattr(tf.io.gfile, "copy", lambda src, dst, overwrite=False: (
        copied.append(dst), original(src, dst, overwrite=overwrite)))
    with staging.staged_version(root, 1) as staged:
        for name in ("variables/variables.index", "variables/variables.data-00000-of-00001",
                     "saved_model.pb", "assets/labels.txt", "model_card.json"):
            tf.io.gfile.makedirs(f"{staged.path}/{name}".rsplit("/", 1)[0])
            tf.io.gfile.GFile(f"{staged.path}/{name}", "w").write(name)
    assert copied[-1] == f"{root}/1/saved_model.pb" and len(copied) == 5
    assert tf.io.gfile.GFile(f"{root}/1/variables/variables.index").read() == \
        "variables/variables.index"
    assert [e.rstrip("/") for e in tf.io.gfile.listdir(root)] == ["1"]  # staging removed
    with pytest.raises(FileExistsError, match="Version 1 appeared"):  # never overwritten
        with staging.staged_version(root, 1) as staged:
            tf.io.gfile.GFile(f"{staged.path}/saved_model.pb", "w").write("other")
    assert tf.io.gfile.GFile(f"{root}/1/saved_model.pb").read() == "saved_model.pb"


def test_bases_weights_and_vectors_read_from_ram(tmp_path):
    from tests.fixtures.hub import write_image_feature_vector

    # A keras.applications weights file (Keras reads .h5 with h5py: a local copy).
    source = tlk.load_base("mobilenet", weights=None, input_shape=(32, 32, 3), alpha=0.25)
    weights = f"{_ram('weights')}/mobilenet.weights.h5"
    tf.io.gfile.makedirs(weights.rsplit("/", 1)[0])
    source.save_weights(weights)
    loaded = tlk.load_base("mobilenet", weights=weights, input_shape=(32, 32, 3), alpha=0.25)
    for expected, found in zip(source.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(expected, found)
    with pytest.raises(FileNotFoundError, match="Weights file not found"):
        tlk.load_base("mobilenet", weights=weights + ".missing", input_shape=(32, 32, 3))

    # A TF Hub module directory on ram://.
    module = _ram("hub") + "/feature_vector"
    local = write_image_feature_vector(tmp_path / "module")
    for name in tf.io.gfile.listdir(local):
        _copy_tree(f"{local}/{name}", f"{module}/{name.rstrip('/')}")
    base = tlk.load_base(module, input_shape=(32, 32, 3))
    assert base.output_shape == (None, 8)

    # Word vectors.
    vectors = f"{_ram('vectors')}/glove.txt"
    with tf.io.gfile.GFile(vectors, "w") as f:
        f.write("good 1 0\nbad -1 0\n")
    words, matrix = tlk.load_word_vectors(vectors)
    assert list(words) == ["good", "bad"] and matrix.shape == (2, 2)


def _copy_tree(source, target):
    if tf.io.gfile.isdir(source):
        tf.io.gfile.makedirs(target)
        for name in tf.io.gfile.listdir(source):
            _copy_tree(f"{source}/{name.rstrip('/')}", f"{target}/{name.rstrip('/')}")
    else:
        tf.io.gfile.copy(source, target, overwrite=True)
