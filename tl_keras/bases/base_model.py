"""PretrainedBase: a base that remembers where it came from.

`tl_keras.load_base` returns one. It is a plain functional `keras.Model`
(summary, call, fine-tune, save) over the loaded network's own layers, with
its identity in `get_config`: the source (a registry name, a TF Hub handle or
an exported model's directory), the preprocessing its inputs need, and the
lineage of exported models it descends from. So `build_model(load_base(...))`
and a `.keras` round trip keep all of it.
"""

import json

import keras

from tl_keras.compat import single_input_output


@keras.saving.register_keras_serializable(package="tl_keras")
class PretrainedBase(keras.Model):
    """A functional base model with its identity.

    Args:
        inputs: the input tensor(s) of the network (as for a functional model).
        outputs: its output tensor: a feature map or a feature vector.
        name: the base's name. Defaults to `None`.
        source: where it came from: `"keras.applications"`, `"tf_hub"`,
            `"exported"` or `"keras.Model"`. Passed as a keyword.
        handle: what `load_base` was given (a registry name, a handle or a
            directory). Passed as a keyword.
        preprocessing: the `tl_keras.Preprocessing` mode its inputs need.
            Passed as a keyword.
        lineage: the exported models it descends from, nearest first (dicts
            with `name`, `version`, `path`, `base`). Passed as a keyword.
        version: the version of what `handle` names, where known (a KerasHub
            preset's Kaggle version). Passed as a keyword.

    Example:

    >>> base = tl_keras.load_base("mobilenet_v2", weights=None)
    >>> base.identity["preprocessing"]
    'tf'
    """

    # The functional constructor's arguments (inputs, outputs, name) arrive in
    # *args / **kwargs: Keras serializes the graph (and revives it) only for a
    # constructor it takes for a functional one. Before Keras 3.15 it compares
    # the argument list with Functional.__init__'s, whose decorator shows
    # `(*args, **kwargs)`; keras-team/keras#23036 removed the decorator and
    # accepts `(*args, **kwargs)` explicitly. This signature passes both tests,
    # so one class serves every Keras in the window. The identity travels in
    # **kwargs.
    def __init__(self, *args, **kwargs):
        identity = {
            "source": kwargs.pop("source", "keras.Model"),
            "handle": kwargs.pop("handle", None),
            "preprocessing": kwargs.pop("preprocessing", "none"),
            "lineage": [dict(step) for step in kwargs.pop("lineage", ()) or ()],
            "version": kwargs.pop("version", None),
        }
        super().__init__(*args, **kwargs)
        # Kept as JSON text: plain data that Keras's attribute tracking leaves
        # alone, and a copy on every read.
        self._identity_json = json.dumps(identity)

    @property
    def identity(self):
        """`{"name", "source", "handle", "preprocessing", "lineage", "version"}`, a
        copy."""
        return dict(json.loads(self._identity_json), name=self.name)

    @property
    def preprocessing_mode(self):
        return self.identity["preprocessing"]

    @property
    def lineage(self):
        return self.identity["lineage"]

    def get_config(self):
        config = single_input_output(super().get_config())
        config.update(json.loads(self._identity_json))
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = single_input_output(config)  # as older Keras wrote it, too
        identity = {key: config.pop(key) for key in
                    ("source", "handle", "preprocessing", "lineage", "version")
                    if key in config}
        if identity.get("source") == "keras_hub":
            import keras_hub  # noqa: F401  (registers the backbone's classes)
        model = super().from_config(config, custom_objects=custom_objects)
        model._identity_json = json.dumps(dict(json.loads(model._identity_json), **identity))
        return model


def as_pretrained_base(model, *, source, handle=None, preprocessing="none", lineage=(),
                       name=None, version=None):
    """Wraps a functional `keras.Model`'s graph (its own layers, no copies) as a
    `PretrainedBase` carrying this identity."""
    inputs = model.input if len(model.inputs) == 1 else model.inputs
    outputs = model.output if len(model.outputs) == 1 else model.outputs
    return PretrainedBase(inputs, outputs, name=name or model.name,
                          source=source, handle=handle, preprocessing=preprocessing,
                          lineage=lineage, version=version)


def identity_of(base):
    """The identity of any base: a `PretrainedBase`'s own, else a plain one."""
    if isinstance(base, PretrainedBase):
        return base.identity
    return {"name": base.name, "source": "keras.Model", "handle": None,
            "preprocessing": "none", "lineage": [], "version": None}
