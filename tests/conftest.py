"""Shared fixtures. Tests run offline, on small inputs, with `weights=None`."""

import os
import tempfile

# Before keras is imported: a private, empty Keras cache (no user's cached
# weights can hide the offline path), quiet TensorFlow logs.
os.environ["KERAS_HOME"] = tempfile.mkdtemp(prefix="tl_keras_test_keras_home_")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield
    keras.backend.clear_session()


def random_images(n, size=32, seed=0):
    """Random RGB pixels in [0, 255], float32, shape (n, size, size, 3)."""
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")


def weights_by_path(layer):
    """{variable path: numpy copy} of every variable (trainable or not) of `layer`."""
    return {v.path: np.array(v.numpy()) for v in layer.weights}


def small_image_classifier(size=16, filters=(8, 16, 16), **build):
    """A `tl_keras.ImageClassifier` on a small convolutional base (Conv2D,
    BatchNormalization, ReLU blocks), seeded: for tests of what training does,
    not of a base."""
    import keras

    import tl_keras as tlk

    keras.utils.set_random_seed(0)
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    for count in filters:
        x = keras.layers.Conv2D(count, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Activation("relu")(x)
    base = keras.Model(inputs, x, name="small_base")
    return tlk.build_model(base, num_classes=2, **build)
