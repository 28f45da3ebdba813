import keras
import numpy as np
import pytest

import tl_keras as tlk
from tests.conftest import random_images


def test_build_model_structure():
    model = tlk.build_model("mobilenet_v2", num_classes=4, weights=None,
                            input_shape=(32, 32, 3), hidden_units=(16,), alpha=0.35)
    assert model.input.name == "images" or model.layers[0].name == "images"
    assert model.input_shape == (None, 32, 32, 3)
    assert model.output_shape == (None, 4)
    names = [layer.name for layer in model.layers]
    assert names[:4] == ["images", "preprocessing", "mobilenet_v2", "pooling"]
    assert "hidden_1" in names and names[-1] == "predictions"
    base = tlk.get_base(model)
    assert base.name == "mobilenet_v2" and not base.trainable
    assert model.get_layer("preprocessing").mode == "tf"
    # Only the head trains: hidden layer and output, kernels and biases.
    assert {w.path.split("/")[0] for w in model.trainable_weights} == {"hidden_1", "predictions"}
    probabilities = model.predict(random_images(3), verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-5)


def test_the_base_is_called_in_inference_mode():
    model = tlk.build_model("densenet121", num_classes=2, weights=None,
                            input_shape=(32, 32, 3))
    base = tlk.get_base(model)
    node = base._inbound_nodes[-1]
    assert node.arguments.kwargs.get("training") is False


def test_keras_round_trip_with_safe_mode(tmp_path):
    model = tlk.build_model("resnet50", num_classes=3, weights=None,
                            input_shape=(32, 32, 3), augmentation="default")
    images = random_images(4)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(images, verbose=0),
                               model.predict(images, verbose=0), rtol=1e-5, atol=1e-6)
    assert tlk.get_base(loaded).name == "resnet50"
    assert loaded.get_layer("preprocessing").mode == "caffe"


def test_augmentation_acts_in_training_only():
    model = tlk.build_model("mobilenet_v3_small", num_classes=2, weights=None,
                            input_shape=(32, 32, 3), dropout=0.0,
                            augmentation=[keras.layers.RandomFlip("horizontal_and_vertical"),
                                          keras.layers.RandomTranslation(0.3, 0.3)])
    images = random_images(8)
    inference_a = np.asarray(model(images, training=False))
    inference_b = np.asarray(model(images, training=False))
    np.testing.assert_array_equal(inference_a, inference_b)
    augmented = model.get_layer("augmentation")(images, training=True)
    assert not np.allclose(np.asarray(augmented), images)
    assert np.allclose(np.asarray(model.get_layer("augmentation")(images, training=False)),
                       images)


@pytest.mark.parametrize("kwargs,message", [
    (dict(num_classes=0), r"positive integer.*Received: num_classes=0"),
    (dict(num_classes=2.5), r"Received: num_classes=2.5"),
    (dict(num_classes=1), r"softmax over one class"),
    (dict(num_classes=3, input_shape=(16, 16, 3)), r"at least 32.*Received: input_shape"),
    (dict(num_classes=3, dropout=1.5), r"Received: dropout=1.5"),
    (dict(num_classes=3, pooling="mean"), r"Received: pooling='mean'"),
    (dict(num_classes=3, hidden_units=(0,)), r"Received: hidden_units"),
    (dict(num_classes=3, augmentation="strong"), r"Received: augmentation='strong'"),
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
    assert model.get_layer("preprocessing").mode == "none"
