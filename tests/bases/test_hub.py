"""HubLayer and TF Hub bases, on TF Hub-format SavedModels written in tmp_path."""

import json
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import tl_keras as tlk
from tests.fixtures.hub import write_classifier
from tests.fixtures.hub import write_file_writing_module
from tests.fixtures.hub import write_image_feature_vector
from tests.fixtures.hub import write_text_embedding
from tests.fixtures.images import random_images
from tests.fixtures.images import write_image_folders
from tests.fixtures.keras_free import serve_without_keras
from tl_keras.cli import main
from tl_keras.io import safe_loading


@pytest.fixture()
def feature_vector(tmp_path):
    return write_image_feature_vector(tmp_path / "feature_vector")


def _module_values(layer):
    return {v.name: v.numpy().copy() for v in layer._module.variables}


def _hub_layer(model):
    return tlk.get_base(model).layers[-1]


def _labels(n=32):
    return np.arange(n) % 2


@pytest.mark.compat
@pytest.mark.slow
def test_frozen_then_fine_tuned_through_fit_two_phase(feature_vector):
    model = tlk.build_model(feature_vector, num_classes=2, input_shape=(32, 32, 3))
    layer = _hub_layer(model)
    assert isinstance(layer, tlk.HubLayer) and not layer.trainable
    assert model.preprocessing.mode == "unit"
    assert model.losses == []
    x, y = random_images(32), _labels()
    start = _module_values(layer)
    tlk.fit_two_phase(model, (x, y), epochs=1, fine_tune_epochs=0, verbose=0)
    frozen = _module_values(layer)
    # Frozen: every module variable unchanged, BatchNorm statistics included.
    assert all(np.array_equal(start[k], frozen[k]) for k in start)

    tlk.fit_two_phase(model, (x, y), epochs=1, fine_tune_epochs=2,
                      verbose=0, fine_tuning=tlk.FineTuning(learning_rate=1e-2))
    assert layer.trainable
    tuned = _module_values(layer)
    # Gradients reached the module's own variables (Adam, no copies) ...
    for name in ("conv/kernel:0", "bn/gamma:0", "bn/beta:0"):
        assert not np.array_equal(frozen[name], tuned[name]), name
    # ... and training reached the module: its BatchNorm statistics moved.
    assert not np.array_equal(frozen["bn/moving_mean:0"], tuned["bn/moving_mean:0"])
    assert not any(":" in v.path for v in model.optimizer.variables)


def test_regularization_losses_only_when_trainable(feature_vector):
    inputs = keras.Input((32, 32, 3))
    layer = tlk.HubLayer(feature_vector, trainable=True)
    model = keras.Model(inputs, keras.layers.Dense(2)(layer(inputs)))
    model(random_images(2) / 255, training=True)
    kernel = layer._module.kernel.numpy()
    assert len(model.losses) == 1
    np.testing.assert_allclose(float(model.losses[0]), 0.01 * np.sum(kernel ** 2), rtol=1e-5)
    layer.trainable = False
    model(random_images(2) / 255, training=True)
    assert model.losses == []


def test_training_reaches_the_module_only_when_trainable(feature_vector):
    layer = tlk.HubLayer(feature_vector)
    before = layer._module.moving_mean.numpy().copy()
    layer(random_images(4) / 255, training=True)
    np.testing.assert_array_equal(before, layer._module.moving_mean.numpy())
    layer.trainable = True
    layer(random_images(4) / 255, training=True)
    assert not np.array_equal(before, layer._module.moving_mean.numpy())


@pytest.mark.compat
@pytest.mark.slow
def test_keras_round_trip_keeps_fine_tuned_values(feature_vector, tmp_path):
    model = tlk.build_model(feature_vector, num_classes=2, input_shape=(32, 32, 3))
    tlk.fit_two_phase(model, (random_images(16), _labels(16)), epochs=1,
                      fine_tune_epochs=1, verbose=0,
                      fine_tuning=tlk.FineTuning(learning_rate=1e-2))
    path = str(tmp_path / "hub.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    images = random_images(4, seed=5)
    np.testing.assert_allclose(loaded.predict(images, verbose=0),
                               model.predict(images, verbose=0), rtol=1e-5, atol=1e-6)
    config = _hub_layer(loaded).get_config()
    assert config["handle"] == feature_vector


def _as_a_new_process(monkeypatch):
    """Forgets the handles this process loaded and every trusted root, as a
    colleague's process that opens the file would."""
    monkeypatch.setattr(safe_loading, "_loaded_handles", set())
    monkeypatch.setattr(safe_loading, "_roots", [])
    monkeypatch.delenv(safe_loading.TRUSTED_ROOTS_VARIABLE, raising=False)


@pytest.mark.slow
def test_a_hub_layer_in_a_keras_file_loads_under_safe_mode_only_when_trusted(
        feature_vector, tmp_path, monkeypatch):
    model = tlk.build_model(feature_vector, num_classes=2, input_shape=(32, 32, 3))
    path = str(tmp_path / "hub.keras")
    model.save(path)
    images = random_images(3, seed=2)
    expected = model.predict(images, verbose=0)
    _as_a_new_process(monkeypatch)
    with pytest.raises(ValueError, match=r"(?s)safe mode.*tl_keras.trust\(.*"
                                         r"enable_unsafe_deserialization.*Received: "
                                         r"handle="):
        keras.saving.load_model(path)
    assert not safe_loading.is_trusted(feature_vector)  # the refusal loaded nothing

    tlk.library.trust(tmp_path)  # the directory holding the module
    np.testing.assert_allclose(keras.saving.load_model(path).predict(images, verbose=0),
                               expected, rtol=1e-5, atol=1e-6)

    _as_a_new_process(monkeypatch)
    monkeypatch.setenv(safe_loading.TRUSTED_ROOTS_VARIABLE, f"gs://elsewhere, {tmp_path}")
    assert keras.saving.load_model(path) is not None

    _as_a_new_process(monkeypatch)
    tlk.library.trust(tmp_path / "elsewhere")  # a sibling is not the module's root
    with pytest.raises(ValueError, match="safe mode"):
        keras.saving.load_model(path)
    assert keras.saving.load_model(path, safe_mode=False) is not None


@pytest.mark.slow
def test_an_approved_library_version_whose_module_was_swapped_loads_only_when_trusted(
        feature_vector, tmp_path, monkeypatch):
    """An approval is governance, not trust: the author of an approved version
    swaps its module for a graph that writes a file; a colleague's process
    refuses it under safe mode, and loads it only after trusting the root."""
    model = tlk.build_model(feature_vector, num_classes=2, input_shape=(32, 32, 3))
    root = tmp_path / "library"
    version_dir = tlk.export_saved_model(model, str(root / "cats"), class_names=["a", "b"])
    card = json.loads((root / "cats" / "1" / "model_card.json").read_text())
    [module] = card["keras_file_loads"]
    assert module["handle"] == feature_vector and not module["reachable_elsewhere"]
    event = tlk.library.approve(str(root), "cats", 1, by="ana", why="checked")
    assert event["user"] and event["by"] == "ana"  # the process's identity beside --by

    marker = tmp_path / "the_swapped_graph_ran"
    shutil.rmtree(feature_vector)
    write_file_writing_module(feature_vector, marker)

    _as_a_new_process(monkeypatch)
    with pytest.raises(ValueError, match="safe mode"):
        tlk.load_base(str(root / "cats"))
    with pytest.raises(ValueError, match="safe mode"):
        keras.saving.load_model(str(root / "cats" / "1" / "keras" / "model.keras"))
    report = tlk.check_export(version_dir)
    assert any("safe mode" in line for line in report.lines)
    assert not marker.exists()  # refused before the graph was loaded

    tlk.trust(root)  # the loading process decides
    base = tlk.load_base(str(root / "cats"))
    base.predict(np.zeros((1, 32, 32, 3), "float32"), verbose=0)
    assert marker.exists()


@pytest.mark.compat
@pytest.mark.slow
def test_export_runs_without_keras_or_hub(feature_vector, tmp_path):
    model = tlk.build_model(feature_vector, num_classes=2, input_shape=(32, 32, 3))
    path = tlk.export_saved_model(model, str(tmp_path / "hub_model"), class_names=["a", "b"])
    images = random_images(3, seed=7)
    served = serve_without_keras(path, images, str(tmp_path))
    np.testing.assert_allclose(served["probabilities"], model.predict(images, verbose=0),
                               rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_text_module_assets_are_exported(tmp_path):
    handle = write_text_embedding(tmp_path / "module" / "text_embedding")
    layer = tlk.HubLayer(handle)
    assert layer.supports_jit is False  # a lookup table: kept out of XLA
    inputs = keras.Input((), dtype="string")
    outputs = keras.layers.Dense(2, activation="softmax")(layer(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(loss="sparse_categorical_crossentropy", jit_compile=True)
    assert model.jit_compile is False  # Keras leaves XLA off for this model
    texts = np.array(["good movie", "awful awful", "unknown words here"])
    expected = model.predict(tf.constant(texts), verbose=0)
    path = tlk.export_saved_model(model, str(tmp_path / "text_model"))
    assert os.listdir(os.path.join(path, "assets"))
    shutil.rmtree(tmp_path / "module")  # the export must not need the module any more
    script = (
        "import json, sys, tensorflow as tf\n"
        "serve = tf.saved_model.load(sys.argv[1]).signatures['serving_default']\n"
        "out = serve(texts=tf.constant(json.loads(sys.argv[2])))\n"
        "print(json.dumps(out['probabilities'].numpy().tolist()))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, path, json.dumps(texts.tolist())],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(json.loads(done.stdout.splitlines()[-1]), expected, rtol=1e-5)


def test_output_key_selects_and_errors_list_the_outputs(tmp_path):
    handle = write_classifier(tmp_path / "classifier")
    logits = tlk.HubLayer(handle, output_key="logits")(random_images(2))
    probabilities = tlk.HubLayer(handle, output_key="probabilities")(random_images(2))
    np.testing.assert_allclose(tf.nn.softmax(logits), probabilities, rtol=1e-5)
    with pytest.raises(ValueError, match=r"Expected one of \['logits', 'probabilities'\]. "
                                         r"Received: output_key='scores'"):
        tlk.HubLayer(handle, output_key="scores")(random_images(2))
    signature = tlk.HubLayer(handle, signature="serving_default", output_key="logits")
    np.testing.assert_allclose(signature(random_images(2)), logits, rtol=1e-5)
    with pytest.raises(ValueError, match=r"Unknown signature.*\['serving_default'\]"):
        tlk.HubLayer(handle, signature="classify")


def test_fixed_size_module_checks_the_input(tmp_path):
    handle = write_classifier(tmp_path / "classifier")
    with pytest.raises(ValueError, match=r"Expected one of \['logits', 'probabilities'\]"):
        tlk.build_model(handle, num_classes=3)
    model = tlk.build_model(handle, num_classes=3, output_key="logits")
    assert model.input_shape == (None, 32, 32, 3)  # the module's own fixed size
    with pytest.raises(ValueError, match=r"takes 32x32 images \(input \(32, 32, 3\)\)"):
        tlk.build_model(handle, num_classes=3, input_shape=(40, 40, 3), output_key="logits")
    layer = tlk.HubLayer(handle, output_key="logits")
    with pytest.raises(ValueError, match="Input of rank 3"):
        layer(np.zeros((32, 32, 3), "float32"))


@pytest.mark.slow
def test_mixed_precision_model(feature_vector):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = tlk.build_model(feature_vector, num_classes=2, input_shape=(32, 32, 3))
        history = tlk.fit_two_phase(model, (random_images(8), _labels(8)), epochs=1,
                                    fine_tune_epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"]).all()
        assert model.predict(random_images(2), verbose=0).dtype == np.float32
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_tf1_hub_format_is_frozen_only(tmp_path):
    path = str(tmp_path / "tf1_module")
    graph = tf.Graph()
    with graph.as_default():
        images = tf.compat.v1.placeholder(tf.float32, [None, 32, 32, 3])
        weight = tf.compat.v1.get_variable("w", initializer=tf.ones([3, 5]))
        features = tf.matmul(tf.reduce_mean(images, axis=[1, 2]), weight)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            builder = tf.compat.v1.saved_model.Builder(path)
            signature = tf.compat.v1.saved_model.predict_signature_def(
                {"images": images}, {"default": features})
            builder.add_meta_graph_and_variables(session, [], {"default": signature})
            builder.save()
    # TF1 Hub format is marked by this file; tensorflow_hub 0.16 can no longer
    # write a real ModuleDef, and HubLayer only reads that it is there.
    open(os.path.join(path, "tfhub_module.pb"), "wb").close()
    layer = tlk.HubLayer(path)
    out = layer(np.ones((2, 32, 32, 3), "float32"))
    np.testing.assert_allclose(out, np.full((2, 5), 3.0))
    assert layer.trainable_weights == []
    with pytest.raises(ValueError, match="TF1 Hub format modules.*frozen only"):
        layer.trainable = True
    with pytest.raises(ValueError, match="cannot fine-tune them"):
        tlk.HubLayer(path, trainable=True)


def test_bad_handles(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"Expected a TF Hub handle.*Received: handle='nope'"):
        tlk.HubLayer("nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="not a SavedModel"):
        tlk.HubLayer(str(tmp_path / "empty"))

    def offline(handle):
        raise OSError("<urlopen error [Errno -2] Name or service not known>")

    import tensorflow_hub

    monkeypatch.setattr(tensorflow_hub, "resolve", offline)
    handle = "https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/feature_vector/5"
    with pytest.raises(tlk.DownloadError, match="pass the local directory instead"):
        tlk.build_model(handle, num_classes=2)
    with pytest.raises(tlk.DownloadError, match=r"www.kaggle.com/models|Received: handle="):
        tlk.HubLayer("google/mobilenet-v2/tensorFlow2/100-224-feature-vector/2")


def test_cache_dir_survives_a_restart(monkeypatch):
    from tl_keras.layers.hub_handles import default_cache_dir

    monkeypatch.delenv("TFHUB_CACHE_DIR", raising=False)
    assert not default_cache_dir().startswith("/tmp")
    monkeypatch.setenv("TFHUB_CACHE_DIR", "/data/hub")
    assert default_cache_dir() == "/data/hub"


def test_a_hub_module_with_several_outputs(tmp_path):
    from tests.fixtures.hub import write_two_output_module

    path = write_two_output_module(tmp_path / "two")
    inputs = np.ones((2, 4), "float32")
    with pytest.raises(ValueError, match=r"returns 2 outputs \(0: \(2, 4\), 1: \(2, 1\)\)"
                                         r".*output_key=<index>"):
        tlk.HubLayer(path)(inputs)
    np.testing.assert_allclose(tlk.HubLayer(path, output_key=1)(inputs), [[4.0], [4.0]])
    np.testing.assert_allclose(tlk.HubLayer(path, output_key=0)(inputs), 2 * inputs)


@pytest.mark.slow
def test_a_hub_module_image_size_is_said_or_refused_in_one_line(tmp_path, capsys):
    """Rows 21 and 22: a free-size module trained at 224 without a word; a wrong size
    for a fixed-size module was Keras's "Could not automatically infer the output
    shape" with ANSI codes."""
    from tests.fixtures.hub import write_image_feature_vector

    free = write_image_feature_vector(tmp_path / "free")
    fixed = write_image_feature_vector(tmp_path / "fixed", size=32)
    data = write_image_folders(tmp_path / "colours", size=32)
    with pytest.raises(ValueError, match=r"This TF Hub module takes 32x32 images .*Received: "
                                         r"input_shape=\(48, 48, 3\)"):
        tlk.load_base(fixed, input_shape=(48, 48, 3))
    status = main(["train", "--data", str(data), "--base", fixed, "--image-size", "48",
                   "--epochs", "1", "--fine-tune-epochs", "0",
                   "--export", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1 and "\x1b[" not in err
    assert "takes 32x32 images" in err
    assert main(["train", "--data", str(data), "--base", free, "--epochs", "1",
                 "--fine-tune-epochs", "0", "--export", str(tmp_path / "out")]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("Image size: 224x224, the base's own, or 224 for a base that")
