"""HubLayer: TF Hub SavedModels as native Keras 3 layers, frozen or fine-tuned.

`tensorflow_hub.KerasLayer` is a Keras 2 (`tf_keras`) layer and cannot be used in
a Keras 3 model; `keras.layers.TFSMLayer` ignores `training` and names its
variables with `:0`. `HubLayer` wraps the module's own variables (no copies) as
Keras variables, so gradients and every optimizer reach them, and the module
is tracked, so its assets (vocabularies, tables) are exported with the model.
"""

import os

import keras
import tensorflow as tf

from tl_keras import compat
from tl_keras.io import safe_loading
from tl_keras.layers.hub_handles import TF1_MODULE_PROTO
from tl_keras.layers.hub_handles import resolve_handle


def _call_accepts_training(function):
    specs = getattr(function, "concrete_functions", None) or []
    for concrete in specs:
        args, kwargs = concrete.structured_input_signature
        if "training" in kwargs:
            return True
        spec = compat.function_spec(concrete)
        fullargspec = getattr(spec, "fullargspec", None)
        if fullargspec and ("training" in fullargspec.args
                            or "training" in fullargspec.kwonlyargs):
            return True
    return False


def _input_spec(function, signature):
    """The TensorSpec of the module's (first) input, or None if unknown."""
    if signature is not None:
        _, kwargs = function.structured_input_signature
        return next(iter(kwargs.values())) if kwargs else None
    for concrete in getattr(function, "concrete_functions", None) or []:
        args, _ = concrete.structured_input_signature
        if args and isinstance(args[0], tf.TensorSpec):
            return args[0]
    return None


@keras.saving.register_keras_serializable(package="tl_keras")
class HubLayer(keras.layers.Layer):
    """A TF Hub module (a TF2 SavedModel) as a Keras 3 layer.

    Frozen (the default), the module's variables are non-trainable and it runs
    with `training=False`. Trainable (`trainable=True`, or unfrozen by
    `tl_keras.fit_two_phase`), gradients reach the module's own variables with
    any optimizer, its regularization losses are added to the model's losses,
    and `training` is passed to the module when its `__call__` accepts it.

    Args:
        handle: a tfhub.dev or Kaggle URL, a Kaggle Models handle, or a local
            module directory. Downloads are cached in `TFHUB_CACHE_DIR`
            (default `~/.cache/tfhub_modules`).
        trainable: whether the module is fine-tuned. Defaults to `False`.
        output_key: the output to return when the module returns a dict (a
            key) or a list or tuple (an index). Defaults to `None`: the module's
            only output, or `"default"`.
        signature: call this signature instead of `__call__` (needed by TF1
            Hub format and some classification modules). Defaults to `None`.
        arguments: extra keyword arguments for the module's `__call__`.
            Defaults to `None`.
        **kwargs: base layer arguments (`name`, `dtype`).

    Loading a `.keras` file that holds a `HubLayer` runs the module's graph,
    so under Keras's safe mode (`load_model`'s default) it is refused unless
    the handle is trusted: see `tl_keras.library.trust`.

    Raises:
        ValueError: a handle that is neither a URL, a Kaggle handle nor a
            SavedModel directory; an unknown signature or output key; a TF1
            Hub format module with `trainable=True`; rebuilt from a config
            under safe mode, a handle that is not trusted.
        tl_keras.DownloadError: the module could not be downloaded.

    Example:

    >>> inputs = keras.Input((224, 224, 3))
    >>> features = HubLayer("https://tfhub.dev/google/imagenet/"  # doctest: +SKIP
    ...                     "mobilenet_v2_100_224/feature_vector/5")(inputs / 255)
    """

    def __init__(self, handle, *, trainable=False, output_key=None, signature=None,
                 arguments=None, **kwargs):
        kwargs.setdefault("autocast", False)  # the module computes in its own dtype
        self._is_tf1 = False
        super().__init__(trainable=trainable, **kwargs)
        self.handle = os.fspath(handle) if isinstance(handle, os.PathLike) else handle
        self.output_key = output_key
        self.signature = signature
        self.arguments = dict(arguments or {})
        path = resolve_handle(self.handle)
        self._is_tf1 = tf.io.gfile.exists(os.path.join(path, TF1_MODULE_PROTO))
        if self._is_tf1 and trainable:
            raise ValueError(self._tf1_message())
        module = tf.saved_model.load(path, tags=[] if self._is_tf1 else None)
        safe_loading.remember_loaded(self.handle)  # this process chose it: trusted
        self._module = module  # tracked: its assets and tables export with the model
        if self._is_tf1 and signature is None:
            signature = "default"
            self._signature_name = "default"
        else:
            self._signature_name = signature
        if signature is not None:
            if signature not in module.signatures:
                raise ValueError(
                    f"Unknown signature. Expected one of {sorted(module.signatures)}. "
                    f"Received: signature={signature!r}"
                )
            self._function = module.signatures[signature]
        elif callable(module):
            self._function = module.__call__
        else:
            raise ValueError(
                "This SavedModel has no __call__ (it is not a TF2 reusable SavedModel); "
                f"pass signature= one of {sorted(module.signatures)}. "
                f"Received: handle={self.handle!r}"
            )
        self._accepts_training = signature is None and _call_accepts_training(self._function)
        self._module_input_spec = _input_spec(self._function, signature)
        self._regularization_losses = list(getattr(module, "regularization_losses", []))
        input_dtype = getattr(self._module_input_spec, "dtype", tf.float32)
        # Lookup tables and string ops do not compile with XLA.
        assets = os.path.join(path, "assets")
        has_assets = tf.io.gfile.isdir(assets) and bool(tf.io.gfile.listdir(assets))
        self.supports_jit = input_dtype != tf.string and not has_assets
        self._wrap_module_variables(module)
        self.built = True

    # === Variables ===

    def _wrap_module_variables(self, module):
        variables = list(getattr(module, "variables", None) or [])
        if variables:  # a reusable SavedModel lists them (TF Hub's format)
            trainable_ids = {id(v) for v in getattr(module, "trainable_variables", [])}
        else:  # otherwise: the variables its functions capture
            functions = getattr(self._function, "concrete_functions", None) or [self._function]
            seen = set()
            for function in functions:
                for variable in function.variables:
                    if id(variable) not in seen:
                        seen.add(id(variable))
                        variables.append(variable)
            trainable_ids = {id(v) for v in variables if v.trainable}
        names = set()
        with keras.name_scope(self.name, caller=self):  # public: the same scope class
            for variable in variables:
                compat.track_variable(self, self._wrap(variable, names, trainable_ids))

    def _wrap(self, variable, names, trainable_ids):
        name = variable.name.split(":")[0].replace("/", "_")
        while name in names:
            name += "_"
        names.add(name)
        return keras.Variable(
            initializer=variable,  # wraps this tf.Variable itself, no copy
            trainable=id(variable) in trainable_ids and not self._is_tf1,
            dtype=variable.dtype,
            shape=variable.shape,
            name=name,
        )

    @property
    def module_input_spec(self):
        """The `tf.TensorSpec` of the module's input, or None if unknown."""
        return self._module_input_spec

    @property
    def trainable(self):
        return super().trainable

    @trainable.setter
    def trainable(self, value):
        if value and getattr(self, "_is_tf1", False):
            raise ValueError(self._tf1_message())
        keras.layers.Layer.trainable.fset(self, value)

    def _tf1_message(self):
        return (
            "TF1 Hub format modules (tfhub_module.pb) can be used frozen only: TF2 "
            "cannot fine-tune them (their update ops and regularization losses are "
            "lost on loading). Use the module's TF2 version, or keep trainable=False. "
            f"Received: handle={self.handle!r}, trainable=True"
        )

    # === Call ===

    def _check_input(self, inputs):
        spec = self._module_input_spec
        if spec is None or spec.shape.rank is None:
            return
        shape = inputs.shape
        if shape.rank is not None and shape.rank != spec.shape.rank:
            raise ValueError(
                f"Input of rank {shape.rank} for a module that takes rank "
                f"{spec.shape.rank} inputs of shape {spec.shape}. "
                f"Received: input shape {tuple(shape)}"
            )
        for got, want in zip(shape[1:], spec.shape[1:]):
            if got is not None and want is not None and got != want:
                raise ValueError(
                    f"This module takes inputs of fixed shape {spec.shape} (batch "
                    "first); resize the images to that size. "
                    f"Received: input shape {tuple(shape)}"
                )

    def call(self, inputs, training=None):
        inputs = tf.convert_to_tensor(inputs)
        self._check_input(inputs)
        spec = self._module_input_spec
        if spec is not None and spec.dtype != inputs.dtype and spec.dtype.is_floating \
                and inputs.dtype.is_floating:
            inputs = tf.cast(inputs, spec.dtype)
        if self._signature_name is not None:
            _, kwargs = self._function.structured_input_signature
            input_name = next(iter(kwargs))
            outputs = self._function(**{input_name: inputs})
        elif self._accepts_training:
            outputs = self._function(inputs, training=bool(training and self.trainable),
                                     **self.arguments)
        else:
            outputs = self._function(inputs, **self.arguments)
        outputs = self._select_output(outputs)
        if self.trainable and self._regularization_losses:
            for loss in self._regularization_losses:
                self.add_loss(tf.cast(loss(), "float32"))
        if outputs.dtype.is_floating and outputs.dtype != self.compute_dtype:
            outputs = tf.cast(outputs, self.compute_dtype)
        return outputs

    def _select_output(self, outputs):
        if isinstance(outputs, (list, tuple)):
            return self._select_from_sequence(outputs)
        if not isinstance(outputs, dict):
            if self.output_key is not None:
                raise ValueError(
                    "output_key is set but the module returns a single tensor, not a "
                    f"dict. Received: output_key={self.output_key!r}"
                )
            return outputs
        key = self.output_key
        if key is None:
            if len(outputs) == 1:
                return next(iter(outputs.values()))
            key = "default"
        if key not in outputs:
            raise ValueError(
                f"Unknown output key. Expected one of {sorted(outputs)}. "
                f"Received: output_key={key!r}"
            )
        return outputs[key]

    def _select_from_sequence(self, outputs):
        """A module that returns a list or tuple (a detector's boxes and scores):
        `output_key` is the index of the output to use."""
        key = self.output_key
        if key is None and len(outputs) == 1:
            return outputs[0]
        if isinstance(key, bool) or not isinstance(key, int) \
                or not -len(outputs) <= key < len(outputs):
            shapes = ", ".join(f"{i}: {tuple(getattr(o, 'shape', ()))}"
                               for i, o in enumerate(outputs))
            raise ValueError(
                f"This module returns {len(outputs)} outputs ({shapes}); pass "
                f"output_key=<index> to choose one. Received: output_key={key!r}"
            )
        return outputs[key]

    # === Config ===

    @classmethod
    def from_config(cls, config):
        if compat.in_safe_mode() and not safe_loading.is_trusted(config["handle"]):
            raise ValueError(safe_loading.refusal(config["handle"]))
        return cls(**config)

    def get_config(self):
        config = super().get_config()
        config.update(
            handle=self.handle, output_key=self.output_key, signature=self.signature,
            arguments=self.arguments,
        )
        return config
