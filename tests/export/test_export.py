import json
import os

import keras
import numpy as np
import pytest

import tl_keras as tlk
from tests.fixtures.images import make_folder
from tests.fixtures.images import random_images
from tests.fixtures.keras_free import serve_without_keras

# End to end (training, exporting, subprocesses): the full tier, `make test`.
pytestmark = pytest.mark.slow

CLASSES = ["cat", "dog", "fox"]


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(3)
    # VGG16: fast to export, and its random-init features still vary with the
    # input (a MobileNet's vanish without trained BatchNorm statistics).
    model = tlk.build_model("vgg16", num_classes=3, weights=None,
                            input_shape=(32, 32, 3))
    # Non-trivial head so the classes differ between images.
    head = model.head.get_layer("predictions")
    head.kernel.assign(np.random.default_rng(0).normal(0, 10, head.kernel.shape))
    return model


@pytest.mark.compat
def test_export_layout_labels_and_card(model, tmp_path):
    export_dir = str(tmp_path / "pets")
    first = tlk.export_saved_model(model, export_dir, class_names=CLASSES,
                                   metrics={"test_accuracy": 0.5})
    second = tlk.export_saved_model(model, export_dir, class_names=CLASSES)
    assert first == os.path.join(export_dir, "1") and second == os.path.join(export_dir, "2")
    assert sorted(os.listdir(export_dir)) == ["1", "2"]  # no temporary left behind
    for name in ("saved_model.pb", "variables", "model_card.json", "keras"):
        assert os.path.exists(os.path.join(first, name)), name
    with open(os.path.join(first, "assets", "labels.txt")) as f:
        assert f.read().splitlines() == CLASSES
    with open(os.path.join(first, "model_card.json")) as f:
        card = json.load(f)
    assert card["name"] == "pets" and card["version"] == 1
    assert card["base"]["name"] == "vgg16"
    assert card["input"]["shape"] == [32, 32, 3]
    assert card["classes"] == CLASSES
    assert card["metrics"] == {"test_accuracy": 0.5}
    assert set(card["versions"]) >= {"tl_keras", "tensorflow", "keras"}
    assert card["created"].endswith("+00:00")
    with pytest.raises(FileExistsError, match="never overwritten.*Received: version=2"):
        tlk.export_saved_model(model, export_dir, class_names=CLASSES, version=2)
    third = tlk.export_saved_model(model, export_dir, version=7)
    assert third.endswith("7")


@pytest.mark.compat
def test_export_predicts_the_same_without_keras(model, tmp_path):
    path = tlk.export_saved_model(model, str(tmp_path / "pets"), class_names=CLASSES)
    # Flat colours, from dark to bright, so a random base still tells them apart.
    images = random_images(6, seed=4) * 0.1 + np.linspace(0, 230, 6)[:, None, None, None]
    expected = model.predict(images, verbose=0)
    served = serve_without_keras(path, images, str(tmp_path))
    np.testing.assert_allclose(served["probabilities"], expected, rtol=1e-4, atol=1e-6)
    ranked = [[CLASSES[i] for i in np.argsort(-row)] for row in expected]
    assert served["classes"] == ranked
    np.testing.assert_allclose(np.asarray(served["scores"])[:, 0], expected.max(axis=1),
                               rtol=1e-4)
    scores = np.asarray(served["scores"])
    assert (np.diff(scores, axis=1) <= 0).all()  # best first


def test_binary_sigmoid_export_ranks_both_classes(tmp_path):
    model = tlk.build_model("vgg16", num_classes=1, weights=None, input_shape=(32, 32, 3),
                            activation="sigmoid")
    path = tlk.export_saved_model(model, str(tmp_path / "b"), class_names=["no", "yes"])
    served = serve_without_keras(path, random_images(2), str(tmp_path))
    p = model.predict(random_images(2), verbose=0)[:, 0]
    for row, scores, prob in zip(served["classes"], served["scores"], p):
        assert row[0] == ("yes" if prob >= 0.5 else "no")
        np.testing.assert_allclose(scores[0], max(prob, 1 - prob), rtol=1e-4)


def test_failed_export_leaves_nothing(model, tmp_path, monkeypatch):
    export_dir = str(tmp_path / "pets")

    def broken_save(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(type(model), "save", broken_save)
    with pytest.raises(RuntimeError, match="disk full"):
        tlk.export_saved_model(model, export_dir, class_names=CLASSES)
    assert os.listdir(export_dir) == []


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(class_names=["a", "b"]), ValueError, r"Expected 3 class names.*Received: 2"),
    (dict(class_names=["a", "a", "b"]), ValueError, r"distinct class names"),
    (dict(version=0), ValueError, r"positive integer.*Received: version=0"),
    (dict(version="2"), ValueError, r"Received: version='2'"),
])
def test_bad_export_arguments(model, tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        tlk.export_saved_model(model, str(tmp_path / "m"), **kwargs)
    assert not os.path.exists(tmp_path / "m" / "1")


def test_export_path_that_is_a_file(model, tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(ValueError, match="it is a file. Received: export_dir="):
        tlk.export_saved_model(model, str(path))


@pytest.mark.compat
def test_exported_model_is_a_base_and_lineage_chains(model, tmp_path):
    root = tmp_path / "library"
    first = tlk.export_saved_model(model, str(root / "pets"), class_names=CLASSES)
    base = tlk.load_base(str(root / "pets"))  # latest version
    assert base.name == "pets_v1" and not base.trainable and base.output_shape == (None, 512)
    images = random_images(3)
    pooled = model.feature_model()
    np.testing.assert_allclose(base.predict(images, verbose=0),
                               pooled.predict(images, verbose=0), rtol=1e-4, atol=1e-5)

    second_model = tlk.build_model(base, num_classes=2)
    assert second_model.preprocessing.mode == "none"  # inside the base
    x = random_images(8)
    y = np.array([0, 1] * 4)
    tlk.fit_two_phase(second_model, (x, y), epochs=1, fine_tune_epochs=1, verbose=0)
    second = tlk.export_saved_model(second_model, str(root / "pets2"), class_names=["a", "b"])
    third_model = tlk.build_model(str(root / "pets2" / "1"), num_classes=2)
    third = tlk.export_saved_model(third_model, str(root / "pets3"))
    with open(os.path.join(third, "model_card.json")) as f:
        lineage = json.load(f)["lineage"]
    assert [(step["name"], step["version"]) for step in lineage] == [("pets2", 1), ("pets", 1)]
    assert lineage[-1]["base"]["name"] == "vgg16"
    assert first and second


def test_not_an_exported_model(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="Not an exported model"):
        tlk.load_base(str(tmp_path / "empty"))


def test_an_export_as_the_readme_shows_it_records_the_training_data(tmp_path):
    """Issue 34, row 8: `export_saved_model(model, dir, history=history)` (the README's
    one screen) wrote `training_data: null`."""
    make_folder(tmp_path / "pets", per_class=6)
    train, val, class_names = tlk.image_dataset(str(tmp_path / "pets"), image_size=32,
                                                validation_split=0.3, verbose=0)
    model = tlk.build_model("mobilenet_v2", num_classes=2, weights=None,
                            input_shape=(32, 32, 3), class_names=class_names)
    history = tlk.fit_two_phase(model, train, val, epochs=1, fine_tune_epochs=0, verbose=0)
    path = tlk.export_saved_model(model, str(tmp_path / "out"),
                                  card=tlk.ModelCard(history=history))
    with open(os.path.join(path, "model_card.json")) as f:  # local: a tmp_path file
        training = json.load(f)["training_data"]
    assert training == history.training_data
    assert sum(training["per_class"].values()) == training["examples"] == sum(
        int(y.shape[0]) for _, y in train)
    assert set(training["per_class"]) == {"cats", "dogs"} and training["fingerprint"]
