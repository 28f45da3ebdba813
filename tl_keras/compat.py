"""What differs across the TensorFlow, Keras and Python versions tl_keras supports.

The window below is the one `make test-compat` tests (its oldest and newest
corners; `scripts/test_compat.py`). Everything in tl_keras that depends on a
version lives here, each entry naming the change it bridges, so that dropping
an old version is deleting an entry.

Bridged elsewhere without a version branch (one form works on every version):
- `PretrainedBase.get_config` / `from_config` pass their functional config
  through `single_input_output` (below).
- `PretrainedBase.__init__(self, *args, **kwargs)`: Keras revives a functional
  subclass from its graph only when its constructor looks functional; before
  Keras 3.15 that test compared against Functional's decorated
  `(*args, **kwargs)`, after keras-team/keras#23036 it accepts varargs
  explicitly. See `tl_keras/bases/base_model.py`.
"""

import re
import sys
import warnings

import keras
import tensorflow as tf

# === The supported window (inclusive, major.minor) ===

PYTHON_WINDOW = ((3, 11), (3, 13))
TENSORFLOW_WINDOW = ((2, 18), (2, 21))
KERAS_WINDOW = ((3, 10), (3, 15))


def parse_version(text):
    """`"2.20.0rc1"` -> `(2, 20, 0)`: the leading numbers of a version string."""
    numbers = re.match(r"\d+(\.\d+)*", str(text).strip())
    if numbers is None:
        raise ValueError(f"Expected a version such as '3.12.0'. Received: version={text!r}")
    return tuple(int(part) for part in numbers.group(0).split("."))


KERAS_VERSION = parse_version(keras.version())
TENSORFLOW_VERSION = parse_version(tf.__version__)
PYTHON_VERSION = tuple(sys.version_info[:3])


def _shown(window):
    low, high = window
    return f"{low[0]}.{low[1]} to {high[0]}.{high[1]}"


def window_text():
    """One line naming the supported window, for messages and the CLI."""
    return (f"TensorFlow {_shown(TENSORFLOW_WINDOW)}, Keras {_shown(KERAS_WINDOW)}, "
            f"Python {_shown(PYTHON_WINDOW)}")


def check_versions(tensorflow_version=None, keras_version=None, python_version=None):
    """Checks the running versions against the window, once at import.

    A TensorFlow or Keras older than the window raises (known failures: the
    activation cache, `.keras` reloading); anything newer than the window, or
    a Python outside it, warns once (untested, likely to work).

    Args:
        tensorflow_version: a version tuple. Defaults to `None`: the running one.
        keras_version: a version tuple. Defaults to `None`: the running one.
        python_version: a version tuple. Defaults to `None`: the running one.

    Returns:
        The list of warning messages issued (empty inside the window).

    Raises:
        ImportError: TensorFlow or Keras older than the window.
    """
    found = {
        "TensorFlow": (tensorflow_version or TENSORFLOW_VERSION, TENSORFLOW_WINDOW),
        "Keras": (keras_version or KERAS_VERSION, KERAS_WINDOW),
        "Python": (python_version or PYTHON_VERSION, PYTHON_WINDOW),
    }
    received = ", ".join(f"{name.lower()}={'.'.join(map(str, version))}"
                         for name, (version, _) in found.items())
    too_old = [name for name, (version, window) in found.items()
               if name != "Python" and version[:2] < window[0]]
    if too_old:
        raise ImportError(
            f"tl_keras supports {window_text()}; this environment has an older "
            f"{' and '.join(too_old)}. Upgrade with: pip install -U "
            "'tensorflow>=2.18' 'keras>=3.10' (or install tl_keras with pip without "
            f"--no-deps, which does it). Received: {received}"
        )
    outside = [name for name, (version, window) in found.items()
               if not window[0] <= version[:2] <= window[1]]
    messages = []
    if outside:
        message = (f"tl_keras is tested with {window_text()}; this {' and '.join(outside)} "
                   f"is outside that window and untested. Received: {received}")
        warnings.warn(message, RuntimeWarning, stacklevel=3)
        messages.append(message)
    return messages


# === Keras: models cut from inner tensors ===


def model_between(inputs, outputs, **kwargs):
    """`keras.Model(inputs, outputs)` for tensors inside another model's graph,
    raising `ValueError` when `outputs` need a tensor other than `inputs` (a
    branch or residual connection crosses the cut).

    Keras 3.14 checks this in the constructor (`Functional` runs its graph once
    on empty values and names the unconnected output). Keras 3.10 to 3.13 build
    the model and fail at its first call with a `KeyError` deep in
    `Function._run_through_graph`. Running the graph symbolically here
    (`compute_output_spec`, public, adds no nodes; a batch of one, as the
    model's own input shapes would take a shortcut) gives every version the
    3.14 behaviour.
    """
    model = keras.Model(inputs, outputs, **kwargs)
    specs = [keras.KerasTensor((1,) + tuple(tensor.shape[1:]), dtype=tensor.dtype)
             for tensor in model.inputs]
    try:
        model.compute_output_spec(specs[0] if len(specs) == 1 else specs)
    except KeyError as error:
        raise ValueError(f"The outputs are not connected to the inputs alone. Received: "
                         f"inputs={inputs!r}") from error
    return model


# === Keras: functional configs with one input and one output ===


def single_input_output(config):
    """A functional model's config with a single input and output written as one
    `[name, node, index]` entry each, as Keras 3.12 and later write them.

    Keras 3.10 writes them as lists of one entry (`[["out_relu", 0, 0]]`).
    Keras 3.12 and later read that back as a list of outputs, so the revived
    model returns `[tensor]` instead of a tensor, and the head built on it
    fails ("Cannot convert '3' to a shape"). The one-entry form is read as a
    single tensor by every Keras in the window, so tl_keras writes it and
    rewrites old files' configs to it when loading them.
    """
    config = dict(config)
    for key in ("input_layers", "output_layers"):
        value = config.get(key)
        if (isinstance(value, list) and len(value) == 1 and isinstance(value[0], list)
                and len(value[0]) == 3 and isinstance(value[0][0], str)):
            config[key] = list(value[0])
    return config


# === Private or unstable APIs tl_keras relies on ===
# Each is used through the function here, names why no public API does the
# job, and has a test in tests/test_compat.py that pins the assumption, so a
# release that breaks it fails there first, by name. One stays where it is
# used: `tensorflow.python.framework.op_def_registry` in
# `tl_keras/export/keras_free_probe.py`, which runs in a process that must not
# import Keras (this module does); its pin is in tests/test_compat.py too.


def track_variable(layer, variable):
    """Adds an existing `keras.Variable` to `layer.weights`.

    `Layer._track_variable` (private): `add_weight` creates a new variable, and
    `HubLayer` must expose the TF Hub module's own variables, not copies, so
    that fine-tuning trains what the module's functions read.
    """
    layer._track_variable(variable)


def function_spec(concrete_function):
    """The `FunctionSpec` of a restored concrete function, or None.

    TensorFlow 2.18 to 2.21 name it `_function_spec` (private) on functions
    restored from a SavedModel, `function_spec` on some others; `HubLayer`
    reads its argument names to learn whether the module takes `training`.
    """
    return (getattr(concrete_function, "function_spec", None)
            or getattr(concrete_function, "_function_spec", None))


def tf_variable(variable):
    """The `tf.Variable` behind a `keras.Variable` (TensorFlow backend):
    `variable.value`, documented only as "the current value"; tf.distribute asks
    whether that TensorFlow variable was made in a strategy's scope."""
    return variable.value


def in_safe_mode():
    """Whether Keras is deserializing under safe mode: True or None (no scope,
    which Keras's own `TFSMLayer` counts as safe) unless `safe_mode=False` or
    `keras.config.enable_unsafe_deserialization()`.

    `keras.src.saving.serialization_lib.in_safe_mode` (private): Keras exports
    no way for a layer's `from_config` to read the flag, and `HubLayer` must
    refuse to load a SavedModel exactly when Keras's `TFSMLayer` does.
    """
    from keras.src.saving import serialization_lib

    return serialization_lib.in_safe_mode() is not False


def tfds_not_found_error(tfds):
    """TFDS's "no such dataset" exception class.

    `tfds.core.registered.DatasetNotFoundError`: TFDS exports it from no
    public namespace in the versions tl_keras supports.
    """
    return tfds.core.registered.DatasetNotFoundError
