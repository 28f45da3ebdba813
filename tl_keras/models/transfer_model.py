"""TransferModel: what every tl_keras classifier knows about itself.

A functional `keras.Model` subclass, in the way of keras-hub's `Task`: it
builds a plain graph (summary, compile, fit, save and TF Serving export work
as for any model) and holds its parts as attributes:

- `base`: the pre-trained part that `freeze_base` / `unfreeze_base` act on;
- `head`: a `keras.Sequential` from the feature vector to the outputs;
- `feature_model()`: inputs to the feature vector (what the feature cache and
  the `features` signature compute);

and its identity in `get_config`: class names, and through the base, where
it came from and its lineage. `ImageClassifier` and `TextClassifier` are the
two kinds.
"""

import json

import keras

from tl_keras.bases.base_model import identity_of


def check_class_names(class_names, units):
    """Returns `class_names` as a list checked against `units` outputs, or None.

    One name for a single sigmoid unit becomes `["not_NAME", "NAME"]`.
    """
    if class_names is None:
        return None
    if isinstance(class_names, str):
        raise ValueError("Expected a list of class names, not one string. "
                         f"Received: class_names={class_names!r}")
    names = list(class_names)
    expected = (1, 2) if units == 1 else (units,)
    if len(names) not in expected:
        raise ValueError(
            f"Expected {' or '.join(map(str, expected))} class names for a model with "
            f"{units} output units. Received: {len(names)} class_names={names[:10]!r}"
        )
    if not all(isinstance(name, str) and name for name in names):
        raise ValueError(f"Expected class names to be non-empty strings. Received: "
                         f"class_names={names!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"Expected distinct class names. Received: class_names={names!r}")
    if units == 1 and len(names) == 1:
        names = [f"not_{names[0]}", names[0]]
    return names


def build_head(num_classes, *, hidden_units=(), dropout=0.2, activation="softmax", l2=0.0):
    """The head: optional ReLU layers, dropout, and a float32 `predictions` layer
    (float32 even under a mixed precision policy), its kernel under an L2
    penalty of `l2` when it is not 0."""
    layers = []
    for index, units in enumerate(hidden_units, start=1):
        if dropout:
            layers.append(keras.layers.Dropout(dropout, name=f"dropout_{index}"))
        layers.append(keras.layers.Dense(units, activation="relu", name=f"hidden_{index}"))
    if dropout:
        layers.append(keras.layers.Dropout(dropout, name="dropout"))
    regularizer = keras.regularizers.L2(l2) if l2 else None
    layers.append(keras.layers.Dense(num_classes, activation=activation, dtype="float32",
                                     kernel_regularizer=regularizer, name="predictions"))
    return keras.Sequential(layers, name="head")


class TransferModel(keras.Model):
    """The shared part of `ImageClassifier` and `TextClassifier`.

    Subclasses set `base`, `head`, `num_classes`, `activation` and the layer
    whose output is the feature vector (`feature_layer`), then call
    `super().__init__(inputs, outputs, ...)`.
    """

    def __init__(self, inputs, outputs, *, adaptations=None, **kwargs):
        super().__init__(inputs, outputs, **kwargs)
        self._adaptations_json = json.dumps(list(adaptations or []))

    # === Identity ===

    @property
    def adaptations(self):
        """What adapted the model to a new domain after training (e.g.
        `tl_keras.adapt_batchnorm`), oldest first: a list of records."""
        return json.loads(self._adaptations_json)

    def record_adaptation(self, record):
        """Appends `record` (a JSON-ready dict) to `adaptations`."""
        self._adaptations_json = json.dumps(self.adaptations + [dict(record)])

    @property
    def class_names(self):
        """The class names, in output order, or None. Settable (checked)."""
        names = getattr(self, "_class_names", None)
        return list(names) if names else None

    @class_names.setter
    def class_names(self, names):
        self._class_names = tuple(check_class_names(names, self.num_classes) or ())

    @property
    def base_identity(self):
        """The base's name, source, handle, preprocessing and lineage."""
        return identity_of(self.base)

    @property
    def lineage(self):
        """The exported models this model descends from, nearest first."""
        return self.base_identity["lineage"]

    # === Parts ===

    def feature_model(self):
        """A `keras.Model` from the inputs to the feature vector (shared layers)."""
        return keras.Model(self.inputs, self.feature_layer.output,
                           name=f"{self.name}_features")

    def head_model(self):
        """A `keras.Model` from a feature vector to the outputs (shared layers),
        to train the head on cached features."""
        features = keras.Input(self.feature_layer.output.shape[1:], name="features")
        return keras.Model(features, self.head(features), name=f"{self.name}_head")

    def fixed_features_reason(self):
        """None when the feature vector of an input never changes during training
        (the base frozen, nothing random in front), else why it does."""
        if getattr(self, "augmentation", None) is not None:
            return ("augmentation sits in front of the base (the features would "
                    "differ every epoch)")
        trainable = [variable.path for variable in self.feature_model().trainable_weights]
        if trainable:
            return (f"layers before the head have trainable weights ({trainable[0]}), so "
                    "their output is not fixed")
        return None

    # === What the trainer asks ===

    # Where phase 2 starts unfreezing when `fine_tune_at` is not given: None
    # for the top third of the base (tl_keras.unfreeze_base), 0 for all of it.
    default_fine_tune_at = None
    # Whether the input is pixels (checked for values rescaled to [0, 1]).
    takes_pixels = False

    @property
    def cheap_epochs(self):
        """Whether an epoch through the whole model costs about what an epoch of
        the head on cached features does (so phase 1 may run to convergence
        without the feature cache)."""
        return False

    def default_fine_tune_learning_rate(self, lora_rank=None):
        """Phase 2's learning rate when none is given. Defaults to `None`: the
        trainer's own default for the base."""
        return None

    def activation_cut_reason(self):
        """None when phase 2 may run on activations cached below a cut in the
        base (`tl_keras.Caching(activations=...)`), else why not."""
        return "this kind of model is not cut for the activation cache"

    # === Config ===

    # Constructor arguments that are layers, serialized in the config.
    layer_arguments = ()

    def _base_config(self, **layers):
        # Not chained to the functional config: the constructor takes parts.
        config = {"name": self.name, "trainable": self.trainable,
                  "num_classes": self.num_classes, "activation": self.activation,
                  "class_names": self.class_names, "adaptations": self.adaptations}
        config.update({key: keras.layers.serialize(layer) if layer is not None else None
                       for key, layer in layers.items()})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in cls.layer_arguments:
            if isinstance(config.get(key), dict):
                config[key] = keras.layers.deserialize(config[key])
        return cls(**config)
