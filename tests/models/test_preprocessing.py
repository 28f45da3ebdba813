import importlib

import keras
import numpy as np
import pytest

from tl_keras.bases import get_entry
from tl_keras.bases import list_bases
from tl_keras.layers.preprocessing import Preprocessing

# One base per keras.applications module, so each family's preprocess_input is checked.
FAMILIES = sorted({get_entry(name).builder.module: name for name in list_bases()}.items())


@pytest.mark.parametrize("module,base", FAMILIES)
@pytest.mark.compat
def test_preprocessing_matches_keras_preprocess_input(module, base):
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    expected = importlib.import_module(f"keras.applications.{module}").preprocess_input(
        pixels.copy()
    )
    layer = Preprocessing(get_entry(base).preprocessing)
    np.testing.assert_allclose(np.asarray(layer(pixels)), expected, rtol=1e-5, atol=1e-4)


def test_every_mode_is_exercised_by_a_family():
    modes = {get_entry(name).preprocessing for name in list_bases()}
    assert modes == {"caffe", "tf", "torch", "none"}


def test_unit_mode_scales_to_zero_one():
    out = np.asarray(Preprocessing("unit")(np.array([[[[0.0, 127.5, 255.0]]]])))
    np.testing.assert_allclose(out, [[[[0.0, 0.5, 1.0]]]])


def test_preprocessing_serializes_without_lambda():
    layer = Preprocessing("caffe", name="pre")
    config = keras.saving.serialize_keras_object(layer)
    restored = keras.saving.deserialize_keras_object(config, safe_mode=True)
    assert isinstance(restored, Preprocessing) and restored.mode == "caffe"


def test_unknown_mode_lists_choices():
    with pytest.raises(ValueError, match=r"Expected one of .*'caffe'.*Received: mode='bgr'"):
        Preprocessing("bgr")
