import json
import os

import keras
import numpy as np
import pytest

import tl_keras as tlk
from tests.fixtures.images import random_images


@pytest.mark.slow
def test_build_model_structure_and_parts():
    model = tlk.build_model("mobilenet_v2", num_classes=4, weights=None,
                            input_shape=(32, 32, 3), hidden_units=(16,), alpha=0.35)
    assert isinstance(model, tlk.ImageClassifier) and isinstance(model, keras.Model)
    assert model.input_shape == (None, 32, 32, 3)
    assert model.output_shape == (None, 4)
    names = [layer.name for layer in model.layers]
    assert names == ["images", "preprocessing", "mobilenet_v2", "pooling", "head"]
    # The parts are attributes, the same objects as the graph's layers.
    assert model.base is model.get_layer("mobilenet_v2") is tlk.get_base(model)
    assert model.preprocessing is model.get_layer("preprocessing")
    assert model.pooling is model.get_layer("pooling") and model.augmentation is None
    assert [layer.name for layer in model.head.layers] == [
        "dropout_1", "hidden_1", "dropout", "predictions"]
    assert isinstance(model.base, tlk.PretrainedBase) and not model.base.trainable
    assert model.preprocessing.mode == "tf"
    assert model.base_identity["handle"] == "mobilenet_v2(alpha=0.35)"
    # Only the head trains: hidden layer and output, kernels and biases.
    assert {w.path.split("/")[-2] for w in model.trainable_weights} == {"hidden_1",
                                                                        "predictions"}
    probabilities = model.predict(random_images(3), verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-5)
    features = model.feature_model().predict(random_images(3), verbose=0)
    assert features.shape == (3, model.base.output_shape[-1])


@pytest.mark.slow
def test_the_base_is_called_in_inference_mode():
    model = tlk.build_model("densenet121", num_classes=2, weights=None,
                            input_shape=(32, 32, 3))
    # Keras records the call arguments of each node of the graph.
    node = model.base._inbound_nodes[-1]
    assert node.arguments.kwargs.get("training") is False


@pytest.mark.compat
@pytest.mark.slow
def test_keras_round_trip_keeps_parts_and_identity(tmp_path):
    model = tlk.build_model("resnet50", num_classes=3, weights=None,
                            input_shape=(32, 32, 3), augmentation="default",
                            class_names=["cat", "dog", "fox"], hidden_units=(8,))
    images = random_images(4)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is tlk.ImageClassifier
    np.testing.assert_allclose(loaded.predict(images, verbose=0),
                               model.predict(images, verbose=0), rtol=1e-5, atol=1e-6)
    assert loaded.class_names == ["cat", "dog", "fox"]
    assert loaded.base.name == "resnet50" and isinstance(loaded.base, tlk.PretrainedBase)
    assert loaded.base_identity == model.base_identity
    assert loaded.preprocessing.mode == "caffe"
    assert loaded.augmentation is not None and loaded.hidden_units == (8,)
    identity = {k: v for k, v in model.get_config().items()
                if k not in ("base", "augmentation")}
    assert {k: loaded.get_config()[k] for k in identity} == identity


@pytest.mark.compat
@pytest.mark.slow
def test_lineage_survives_round_trips_and_generations(tmp_path):
    library = tmp_path / "saved_models"
    first = tlk.build_model("vgg16", num_classes=2, weights=None, input_shape=(32, 32, 3),
                            class_names=["a", "b"])
    tlk.export_saved_model(first, str(library / "gen1"), warmup=False)

    second = tlk.build_model(str(library / "gen1"), num_classes=3,
                             class_names=["x", "y", "z"])
    assert [step["name"] for step in second.lineage] == ["gen1"]
    # A .keras round trip, then an export: the card still records gen1.
    second.save(str(tmp_path / "second.keras"))
    reloaded = keras.saving.load_model(str(tmp_path / "second.keras"), safe_mode=True)
    assert reloaded.lineage == second.lineage and reloaded.class_names == ["x", "y", "z"]
    path = tlk.export_saved_model(reloaded, str(library / "gen2"), warmup=False)
    card = json.loads(open(os.path.join(path, "model_card.json")).read())
    assert [(s["name"], s["version"]) for s in card["lineage"]] == [("gen1", 1)]
    assert card["classes"] == ["x", "y", "z"]  # from the model: not passed again
    assert card["base"]["source"] == "exported"
    license = card["base"]["license"]  # VGG16's, inherited along the chain
    assert license["license"] == "CC-BY-4.0"
    assert license["source"].startswith("inherited from the base of gen1_v1")

    # The third generation, on the reloaded second one: the whole chain.
    third = tlk.build_model(str(library / "gen2"), num_classes=2)
    assert [(s["name"], s["version"]) for s in third.lineage] == [("gen2", 1), ("gen1", 1)]
    assert third.lineage[1]["base"]["name"] == "vgg16"
    images = random_images(2)
    np.testing.assert_allclose(third.base.predict(images, verbose=0),
                               reloaded.feature_model().predict(images, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_class_names_are_checked_and_settable():
    model = tlk.build_model("vgg16", num_classes=3, weights=None, input_shape=(32, 32, 3))
    assert model.class_names is None
    model.class_names = ["a", "b", "c"]
    assert model.class_names == ["a", "b", "c"]
    with pytest.raises(ValueError, match=r"Expected 3 class names.*Received: 2"):
        model.class_names = ["a", "b"]
    with pytest.raises(ValueError, match=r"Expected 3 class names"):
        tlk.build_model("vgg16", num_classes=3, weights=None, input_shape=(32, 32, 3),
                        class_names=["a"])


def test_augmentation_acts_in_training_only():
    model = tlk.build_model("mobilenet_v3_small", num_classes=2, weights=None,
                            input_shape=(32, 32, 3), dropout=0.0,
                            augmentation=[keras.layers.RandomFlip("horizontal_and_vertical"),
                                          keras.layers.RandomTranslation(0.3, 0.3)])
    images = random_images(8)
    inference_a = np.asarray(model(images, training=False))
    inference_b = np.asarray(model(images, training=False))
    np.testing.assert_array_equal(inference_a, inference_b)
    augmented = model.augmentation(images, training=True)
    assert not np.allclose(np.asarray(augmented), images)
    assert np.allclose(np.asarray(model.augmentation(images, training=False)), images)


@pytest.mark.parametrize("kwargs,message", [
    (dict(num_classes=0), r"positive integer.*Received: num_classes=0"),
    (dict(num_classes=2.5), r"Received: num_classes=2.5"),
    (dict(num_classes=1), r"softmax over one class"),
    (dict(num_classes=3, input_shape=(16, 16, 3)), r"at least 32.*Received: input_shape"),
    (dict(num_classes=3, dropout=1.5), r"Received: dropout=1.5"),
    (dict(num_classes=3, pooling="mean"), r"Received: pooling='mean'"),
    (dict(num_classes=3, hidden_units=(0,)), r"Received: hidden_units"),
    (dict(num_classes=3, augmentation="strong"), r"Received: augmentation='strong'"),
    (dict(num_classes=3, class_names="abc"), r"not one string"),
])
def test_bad_arguments_fail_before_any_work(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tlk.build_model("vgg16", weights=None, **kwargs)


def test_get_base_rejects_a_model_without_one():
    inputs = keras.Input((4,))
    plain = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="exactly one nested base"):
        tlk.get_base(plain)


def test_user_model_as_base():
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3)(keras.layers.Rescaling(1 / 255)(inputs))
    own = keras.Model(inputs, x, name="my_base")
    model = tlk.build_model(own, num_classes=2)
    assert tlk.get_base(model) is own and not own.trainable
    assert model.preprocessing.mode == "none" and model.lineage == []


@pytest.mark.slow
def test_a_base_from_load_base_keeps_its_preprocessing(tmp_path):
    base = tlk.load_base("densenet121", weights=None, input_shape=(32, 32, 3))
    assert base.identity["preprocessing"] == "torch"
    model = tlk.build_model(base, num_classes=2)
    assert model.preprocessing.mode == "torch" and model.base is base
    base.save(str(tmp_path / "base.keras"))
    loaded = keras.saving.load_model(str(tmp_path / "base.keras"), safe_mode=True)
    assert isinstance(loaded, tlk.PretrainedBase) and loaded.identity == base.identity


@pytest.mark.slow
def test_a_plain_keras_model_trains_and_exports_through_the_fallback(tmp_path):
    inputs = keras.Input((32, 32, 3))
    inner = keras.applications.MobileNetV3Small(include_top=False, weights=None,
                                                input_shape=(32, 32, 3))
    x = keras.layers.GlobalAveragePooling2D()(inner(inputs, training=False))
    plain = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    images, labels = random_images(8), np.array([0, 1] * 4)
    history = tlk.fit_two_phase(plain, (images, labels), epochs=2, fine_tune_epochs=1,
                                verbose=0)
    assert len(history.epoch) == 3 and tlk.get_base(plain) is inner
    path = tlk.export_saved_model(plain, str(tmp_path / "plain"), class_names=["a", "b"],
                                  warmup=False)
    card = json.loads(open(os.path.join(path, "model_card.json")).read())
    assert card["lineage"] == [] and "features" not in card["signatures"]


def test_an_l2_penalty_on_the_output_layer_counts_and_survives_a_round_trip(tmp_path):
    model = tlk.build_model("mobilenet_v3_small", num_classes=2, weights=None,
                            input_shape=(32, 32, 3), l2=0.5)
    kernel = model.head.get_layer("predictions").kernel
    model(np.zeros((1, 32, 32, 3), "float32"))
    assert np.isclose(float(sum(model.losses)), 0.5 * float(np.sum(kernel.numpy() ** 2)),
                      rtol=1e-5)
    model.save(str(tmp_path / "m.keras"))
    loaded = keras.saving.load_model(str(tmp_path / "m.keras"))
    assert loaded.l2 == 0.5
    assert loaded.head.get_layer("predictions").kernel_regularizer.l2 == 0.5
    assert tlk.build_model("mobilenet_v3_small", 2, weights=None,
                           input_shape=(32, 32, 3)).get_config().get("l2") is None
    with pytest.raises(ValueError, match=r"Expected `l2` >= 0. Received: l2=-1"):
        tlk.build_model("mobilenet_v3_small", 2, weights=None, l2=-1)
