"""The registry of named bases: a builder per name, with its sizes and preprocessing.

Each entry is a builder callable plus keyword metadata, as timm's registry
carries input size and normalisation with each model. The `keras.applications`
families are registered below; `register_base` adds a builder of your own.
"""

import dataclasses
import difflib

import keras

from tl_keras.layers.preprocessing import MODES


@dataclasses.dataclass(frozen=True)
class KerasApplication:
    """A builder for a `keras.applications` constructor, headless and unpooled.

    Args:
        constructor: the `keras.applications` attribute (`"ResNet50"`).
        module: the `keras.applications` submodule whose `preprocess_input`
            the base's preprocessing reproduces (`"resnet"`).
    """

    constructor: str
    module: str

    def __call__(self, *, weights, input_shape, **kwargs):
        build = getattr(keras.applications, self.constructor)
        return build(include_top=False, weights=weights, input_shape=input_shape, **kwargs)


@dataclasses.dataclass(frozen=True)
class BaseEntry:
    """What tl_keras knows about one named base.

    Args:
        name: the registry name, lower case (`"resnet50"`).
        builder: a callable `builder(*, weights, input_shape, **kwargs)` that
            returns the headless, unpooled `keras.Model` (`weights` is
            `"imagenet"`, `None` or a file path).
        default_size: the image size the pre-trained weights were trained at.
        min_size: the smallest height and width the architecture accepts.
        preprocessing: the pixel preprocessing mode, one of
            `tl_keras.layers.preprocessing.MODES`.
        feature_dim: channels of the base's last feature map (the pooled
            feature size) with the builder's default arguments.
        feature_size_args: builder arguments that change the feature size
            (MobileNet's `alpha`); `feature_dim_for` measures it then.
    """

    name: str
    builder: object
    default_size: int
    min_size: int = 32
    preprocessing: str = "none"
    feature_dim: int = None
    feature_size_args: tuple = ()

    @property
    def default_input_shape(self):
        return (self.default_size, self.default_size, 3)

    def feature_dim_for(self, **kwargs):
        """The pooled feature size with these builder arguments.

        Arguments in `feature_size_args` change it: the base is then built
        once without weights at its smallest size and its output measured.
        """
        if not any(key in self.feature_size_args for key in kwargs):
            return self.feature_dim
        size = self.min_size
        model = self.builder(weights=None, input_shape=(size, size, 3), **kwargs)
        return int(model.output_shape[-1])


_REGISTRY = {}


def register_base(name, builder, *, default_size, min_size=32, preprocessing="none",
                  feature_dim=None, feature_size_args=()):
    """Registers a base under `name` (replacing one of the same name).

    Args:
        name: the name `load_base` and `build_model` will accept.
        builder: a callable `builder(*, weights, input_shape, **kwargs)`
            returning a headless, unpooled `keras.Model` that takes
            preprocessed pixels.
        default_size: the image size the weights were trained at.
        min_size: the smallest height and width it accepts. Defaults to `32`.
        preprocessing: what the pixels need first, a mode of
            `tl_keras.Preprocessing`. Defaults to `"none"`.
        feature_dim: the pooled feature size. Defaults to `None` (unknown).
        feature_size_args: builder arguments that change the feature size.
            Defaults to `()`.

    Returns:
        The registered `BaseEntry`.

    Example:

    >>> def tiny_cnn(*, weights, input_shape):
    ...     inputs = keras.Input(input_shape)
    ...     features = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    ...     return keras.Model(inputs, features, name="tiny_cnn")
    >>> tl_keras.register_base("tiny_cnn", tiny_cnn, default_size=64,
    ...                        preprocessing="unit")
    BaseEntry(name='tiny_cnn', ...)
    >>> tl_keras.build_model("tiny_cnn", num_classes=2, weights=None).input_shape
    (None, 64, 64, 3)
    >>> tl_keras.unregister_base("tiny_cnn")
    """

    if not isinstance(name, str) or not name:
        raise ValueError(f"Expected a non-empty base name. Received: name={name!r}")
    if not callable(builder):
        raise ValueError(f"Expected `builder` to be callable. Received: builder={builder!r}")
    if preprocessing not in MODES:
        raise ValueError(f"Unknown preprocessing mode. Expected one of {sorted(MODES)}. "
                         f"Received: preprocessing={preprocessing!r}")
    entry = BaseEntry(name.lower(), builder, default_size, min_size, preprocessing,
                      feature_dim, tuple(feature_size_args))
    _REGISTRY[entry.name] = entry
    return entry


def unregister_base(name):
    """Removes a base that `tl_keras.register_base` added.

    Args:
        name: the registered name (case-insensitive).

    Raises:
        ValueError: if no base has that name.
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in _REGISTRY:
        raise ValueError(f"No registered base has that name. Expected one of "
                         f"{sorted(_REGISTRY)}. Received: name={name!r}")
    del _REGISTRY[key]


def list_bases():
    """Returns the names of all registered bases, sorted.

    Returns:
        A list of strings accepted by `tl_keras.load_base` and
        `tl_keras.build_model`.

    Example:

    >>> "resnet50" in tl_keras.list_bases()
    True
    """
    return sorted(_REGISTRY)


def get_entry(name):
    """Returns the `BaseEntry` registered under `name`.

    Raises:
        ValueError: if no base of that name is registered; the message lists
            the closest names.
    """
    key = name.lower() if isinstance(name, str) else name
    if key in _REGISTRY:
        return _REGISTRY[key]
    raise ValueError(unknown_base_message(name))


def is_registered(name):
    return isinstance(name, str) and name.lower() in _REGISTRY


def unknown_base_message(name):
    close = difflib.get_close_matches(str(name).lower(), list(_REGISTRY), n=5, cutoff=0.6)
    hint = f" Did you mean one of {close}?" if close else ""
    return (
        "Unknown base. Expected one of tl_keras.list_bases(), a TF Hub handle, a "
        "KerasHub preset (a name, kaggle:// or hf:// handle, or preset directory), an "
        f"exported model or a local SavedModel directory.{hint} Received: base={name!r}"
    )


# === keras.applications entries ===

def _app(name, constructor, module, size, preprocessing, feature_dim, min_size=32,
         feature_size_args=()):
    register_base(name, KerasApplication(constructor, module), default_size=size,
                  min_size=min_size, preprocessing=preprocessing, feature_dim=feature_dim,
                  feature_size_args=feature_size_args)


_app("vgg16", "VGG16", "vgg16", 224, "caffe", 512)
_app("vgg19", "VGG19", "vgg19", 224, "caffe", 512)
_app("resnet50", "ResNet50", "resnet", 224, "caffe", 2048)
_app("resnet101", "ResNet101", "resnet", 224, "caffe", 2048)
_app("resnet152", "ResNet152", "resnet", 224, "caffe", 2048)
_app("resnet50_v2", "ResNet50V2", "resnet_v2", 224, "tf", 2048)
_app("resnet101_v2", "ResNet101V2", "resnet_v2", 224, "tf", 2048)
_app("resnet152_v2", "ResNet152V2", "resnet_v2", 224, "tf", 2048)
_app("inception_v3", "InceptionV3", "inception_v3", 299, "tf", 2048, min_size=75)
_app("inception_resnet_v2", "InceptionResNetV2", "inception_resnet_v2", 299, "tf", 1536,
     min_size=75)
_app("xception", "Xception", "xception", 299, "tf", 2048, min_size=71)
_app("mobilenet", "MobileNet", "mobilenet", 224, "tf", 1024, feature_size_args=("alpha",))
_app("mobilenet_v2", "MobileNetV2", "mobilenet_v2", 224, "tf", 1280,
     feature_size_args=("alpha",))
# MobileNetV3, EfficientNet(V2) and ConvNeXt rescale inside the model: their
# `preprocess_input` is the identity, so the model takes [0, 255] pixels as is.
_app("mobilenet_v3_small", "MobileNetV3Small", "mobilenet_v3", 224, "none", 576,
     feature_size_args=("alpha", "minimalistic"))
_app("mobilenet_v3_large", "MobileNetV3Large", "mobilenet_v3", 224, "none", 960,
     feature_size_args=("alpha", "minimalistic"))
for _b, (_size, _dim) in enumerate(
    [(224, 1280), (240, 1280), (260, 1408), (300, 1536),
     (380, 1792), (456, 2048), (528, 2304), (600, 2560)]
):
    _app(f"efficientnet_b{_b}", f"EfficientNetB{_b}", "efficientnet", _size, "none", _dim)
for _b, (_size, _dim) in enumerate([(224, 1280), (240, 1280), (260, 1408), (300, 1536)]):
    _app(f"efficientnet_v2_b{_b}", f"EfficientNetV2B{_b}", "efficientnet_v2", _size,
         "none", _dim)
for _v, _size in (("s", 384), ("m", 480), ("l", 480)):
    _app(f"efficientnet_v2_{_v}", f"EfficientNetV2{_v.upper()}", "efficientnet_v2", _size,
         "none", 1280)
_app("densenet121", "DenseNet121", "densenet", 224, "torch", 1024)
_app("densenet169", "DenseNet169", "densenet", 224, "torch", 1664)
_app("densenet201", "DenseNet201", "densenet", 224, "torch", 1920)
for _v, _cls, _dim in (("tiny", "Tiny", 768), ("small", "Small", 768), ("base", "Base", 1024),
                       ("large", "Large", 1536), ("xlarge", "XLarge", 2048)):
    _app(f"convnext_{_v}", f"ConvNeXt{_cls}", "convnext", 224, "none", _dim)
_app("nasnet_mobile", "NASNetMobile", "nasnet", 224, "tf", 1056)
_app("nasnet_large", "NASNetLarge", "nasnet", 331, "tf", 4032)
