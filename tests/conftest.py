"""Shared fixtures. Tests run offline, on small inputs, with `weights=None`."""

import os
import tempfile

# Before keras is imported: a private, empty Keras cache (no user's cached
# weights can hide the offline path), quiet TensorFlow logs.
os.environ["KERAS_HOME"] = tempfile.mkdtemp(prefix="tl_keras_test_keras_home_")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield
    keras.backend.clear_session()

