"""Mixed precision for the length of a training run, and XLA compilation.

Keras sets a layer's compute dtype when it is built (from the global policy);
a model built in float32 can still train in mixed precision: each layer's
`dtype_policy` is public and settable. `mixed_precision_for` switches the
model's layers to a mixed policy (variables stay float32) for the length of
a `with` block and restores them after, so the model that is saved and
exported computes in float32 as before. The output layer always stays in
float32, as Keras's mixed-precision guide asks, so the loss and the
probabilities are float32.
"""

import contextlib

import keras

from tl_keras.layers.hub_layer import HubLayer
from tl_keras.layers.preprocessing import Preprocessing
from tl_keras.training.freezing import leaf_layers

PRECISIONS = {
    None: None, "float32": None,
    "float16": "mixed_float16", "mixed_float16": "mixed_float16",
    "bfloat16": "mixed_bfloat16", "mixed_bfloat16": "mixed_bfloat16",
}


def check_mixed_precision(mixed_precision):
    """The Keras policy name (`"mixed_float16"`, `"mixed_bfloat16"`) or None."""
    if mixed_precision not in PRECISIONS:
        raise ValueError(
            "Expected `mixed_precision` to be None, 'float16' or 'bfloat16' (or "
            "'mixed_float16', 'mixed_bfloat16'). "
            f"Received: mixed_precision={mixed_precision!r}")
    return PRECISIONS[mixed_precision]


def check_jit_compile(jit_compile):
    if jit_compile not in ("auto", True, False):
        raise ValueError("Expected `jit_compile` to be 'auto', True or False. "
                         f"Received: jit_compile={jit_compile!r}")
    return jit_compile


@contextlib.contextmanager
def mixed_precision_for(model, policy):
    """Within the block, `model`'s layers compute in `policy` (e.g.
    `"mixed_float16"`) except its output layer, its preprocessing and TF Hub
    modules (a SavedModel computes in the dtypes it was saved with); after it,
    every layer has its own policy back. `None` changes nothing."""
    if policy is None:
        yield
        return
    layers = _switchable_layers(model)
    saved = [(layer, layer.dtype_policy) for layer in layers]
    try:
        for layer in layers:
            layer.dtype_policy = policy
        yield
    finally:
        for layer, original in saved:
            layer.dtype_policy = original
        retrace(model)


def _switchable_layers(model):
    leaves = [layer for layer in leaf_layers(model)
              if not isinstance(layer, keras.layers.InputLayer)]
    keep = {id(layer) for layer in leaves if isinstance(layer, (HubLayer, Preprocessing))}
    keep.add(id(_output_layer(model)))
    return [layer for layer in leaves if id(layer) not in keep]


def _output_layer(model):
    """The leaf layer that computes the output: the last layer, through nested
    models (a functional model lists its layers in the order they run)."""
    layer = model.layers[-1]
    while isinstance(layer, keras.Model):
        layer = layer.layers[-1]
    return layer


def with_options(compile_args, policy, jit_compile):
    """`compile_args` (a function returning `compile`'s arguments) with XLA
    compilation and, for float16, loss scaling."""
    def make():
        args = compile_args()
        if jit_compile != "auto":
            args["jit_compile"] = jit_compile
        if policy == "mixed_float16":
            args["loss_scale"] = True
        return args
    return make


def retrace(model):
    """Drops the model's traced functions (traced in the mixed policy), so the
    next `fit`, `evaluate` or `predict` runs in the policies it has now."""
    if getattr(model, "compiled", False):
        model.make_train_function(force=True)
        model.make_test_function(force=True)
    model.make_predict_function(force=True)
