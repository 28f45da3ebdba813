"""tl_keras.compat: the supported window, and the bridges between Keras versions."""

import warnings

import keras
import numpy as np
import pytest

import tl_keras as tlk
from tl_keras import compat
from tl_keras.training.activation_cache import split_at_cut
from tl_keras.training.freezing import leaf_layers

pytestmark = pytest.mark.compat


def test_parse_version_takes_the_leading_numbers():
    assert compat.parse_version("2.20.0rc1") == (2, 20, 0)
    assert compat.parse_version("3.15.1.dev2026") == (3, 15, 1)
    with pytest.raises(ValueError, match="Received: version='nightly'"):
        compat.parse_version("nightly")


def test_the_running_versions_are_inside_the_window():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compat.check_versions() == []


@pytest.mark.parametrize("versions,too_old", [
    (dict(keras_version=(3, 8, 0)), "older Keras"),
    (dict(tensorflow_version=(2, 17, 1)), "older TensorFlow"),
    (dict(tensorflow_version=(2, 17, 1), keras_version=(3, 5, 0)),
     "older TensorFlow and Keras"),
])
def test_an_older_tensorflow_or_keras_is_an_import_error_naming_both(versions, too_old):
    with pytest.raises(ImportError, match=too_old) as error:
        compat.check_versions(**versions)
    message = str(error.value)
    assert "TensorFlow 2.18 to 2.21, Keras 3.10 to 3.15" in message
    assert "pip install -U" in message
    found = versions.get("keras_version", compat.KERAS_VERSION)
    assert f"keras={'.'.join(map(str, found))}" in message


def test_a_newer_version_or_another_python_warns_once_with_the_versions():
    with pytest.warns(RuntimeWarning, match=r"Keras is outside .* keras=3\.16\.0") as record:
        messages = compat.check_versions(keras_version=(3, 16, 0))
    assert len(record) == 1 and len(messages) == 1
    with pytest.warns(RuntimeWarning, match=r"Python is outside .* python=3\.14\.0"):
        compat.check_versions(python_version=(3, 14, 0))


@pytest.mark.slow
def test_importing_outside_the_window_fails_at_import(tmp_path):
    """A Keras older than the window stops `import tl_keras` itself, not a
    training step later (checked in a fresh process that fakes keras's version)."""
    import subprocess
    import sys

    script = ("import keras; keras.version = lambda: '3.8.0'\n"
              "try:\n    import tl_keras\nexcept ImportError as e:\n    print('ERR', e)\n")
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300).stdout
    assert "ERR tl_keras supports TensorFlow 2.18 to 2.21" in output
    assert "keras=3.8.0" in output


def _residual_model():
    inputs = keras.Input((8,))
    a = keras.layers.Dense(4, name="a")(inputs)
    b = keras.layers.Dense(4, name="b")(a)
    c = keras.layers.Dense(4, name="c")(b)
    total = keras.layers.Add(name="add")([a, c])
    return keras.Model(inputs, keras.layers.Dense(2, name="out")(total))


def test_model_between_refuses_a_cut_that_a_residual_crosses():
    model = _residual_model()
    with pytest.raises(ValueError, match="not connected"):
        compat.model_between(model.get_layer("c").input, model.output)


def test_model_between_computes_what_the_model_computes_above_a_clean_cut():
    model = _residual_model()
    top = compat.model_between(model.get_layer("add").input, model.output)
    bottom = keras.Model(model.input, model.get_layer("add").input)
    x = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
    np.testing.assert_allclose(top(bottom(x)), model(x), rtol=1e-5, atol=1e-6)


def test_the_activation_cache_never_cuts_across_a_residual_connection():
    """MobileNetV2's default cut (two thirds) crosses block 11's residual: on
    every Keras the cache says so instead of failing inside fit."""
    model = tlk.build_model("mobilenet_v2", num_classes=2, weights=None,
                            input_shape=(32, 32, 3))
    leaves = leaf_layers(model.base)
    cut, reason = split_at_cut(model, len(leaves) * 2 // 3)
    assert cut is None and "no clean cut at block_11_depthwise_relu" in reason
    index = [layer.name for layer in leaves].index("block_13_expand")
    cut, reason = split_at_cut(model, index)
    assert reason is None
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(cut.top(cut.bottom(x)), model(x), rtol=1e-4, atol=1e-5)


def test_a_base_config_written_by_keras_3_10_revives_with_one_output():
    """Keras 3.10 writes a single output as `[["out_relu", 0, 0]]`; read as is
    by Keras 3.12+, the base returned `[tensor]` and the classifier built on
    it failed. tl_keras writes the one-entry form and reads both."""
    base = tlk.load_base("mobilenet_v2", weights=None, input_shape=(32, 32, 3))
    config = base.get_config()
    assert config["output_layers"] == ["out_relu", 0, 0]
    assert isinstance(config["input_layers"][0], str)
    old_style = dict(config, input_layers=[config["input_layers"]],
                     output_layers=[config["output_layers"]])
    revived = tlk.PretrainedBase.from_config(old_style)
    assert isinstance(revived(keras.Input((32, 32, 3))), keras.KerasTensor)
    assert revived.identity["handle"] == "mobilenet_v2"
    model = tlk.build_model(revived, num_classes=3)
    assert model.output_shape == (None, 3)


# === The private APIs tl_keras relies on (tl_keras/compat.py) ===


def test_track_variable_adds_the_variable_itself_to_a_layer():
    layer = keras.layers.Layer()
    variable = keras.Variable(np.ones((2, 3), "float32"), name="kept")
    compat.track_variable(layer, variable)
    assert len(layer.weights) == 1 and layer.weights[0] is variable
    variable.assign(np.zeros((2, 3), "float32"))
    assert not np.any(layer.weights[0].numpy())  # the same variable, not a copy


def test_function_spec_reads_argument_names_of_a_restored_function(tmp_path):
    import tensorflow as tf

    module = tf.Module()
    module.call = tf.function(lambda x, training=False: x * 2.0,
                              input_signature=[tf.TensorSpec([None], tf.float32)])
    tf.saved_model.save(module, str(tmp_path))
    restored = tf.saved_model.load(str(tmp_path))
    spec = compat.function_spec(restored.call.concrete_functions[0])
    assert spec is not None and "training" in spec.fullargspec.args


def test_tf_variable_is_the_tensorflow_variable_behind_a_keras_variable():
    import tensorflow as tf

    variable = keras.Variable(1.0)
    assert isinstance(compat.tf_variable(variable), tf.Variable)
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        inside = keras.Variable(1.0)
    assert strategy.extended.variable_created_in_scope(compat.tf_variable(inside))
    assert not strategy.extended.variable_created_in_scope(compat.tf_variable(variable))


def test_in_safe_mode_follows_load_model_safe_mode(tmp_path):
    seen = []

    class Probe(keras.layers.Layer):
        @classmethod
        def from_config(cls, config):
            seen.append(compat.in_safe_mode())
            return cls(**config)

        def call(self, inputs):
            return inputs

    inputs = keras.Input((2,))
    path = str(tmp_path / "probe.keras")
    keras.Model(inputs, Probe(name="probe")(inputs)).save(path)
    objects = {"Probe": Probe}
    keras.saving.load_model(path, custom_objects=objects)
    keras.saving.load_model(path, custom_objects=objects, safe_mode=False)
    assert seen == [True, False]
    assert compat.in_safe_mode()  # no scope: safe, as for Keras's TFSMLayer


def test_the_op_registry_the_keras_free_probe_asks_knows_ops_by_name():
    from tensorflow.python.framework import op_def_registry

    assert op_def_registry.get("MatMul") is not None
    assert op_def_registry.get("NoSuchOpAnywhere") is None
