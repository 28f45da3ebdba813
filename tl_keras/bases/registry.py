"""The registry of named bases: what each base is, how big, and how it preprocesses."""

import dataclasses
import difflib


@dataclasses.dataclass(frozen=True)
class BaseSpec:
    """What tl_keras knows about one named base.

    Args:
        name: the registry name, lower case (`"resnet50"`).
        constructor: the `keras.applications` attribute that builds it
            (`"ResNet50"`).
        module: the `keras.applications` submodule whose `preprocess_input`
            the preprocessing reproduces (`"resnet"`).
        default_size: the image size the ImageNet weights were trained at.
        min_size: the smallest height and width the architecture accepts.
        preprocessing: the pixel preprocessing mode, one of
            `tl_keras.preprocessing.MODES`.
        feature_dim: channels of the base's last feature map (the pooled
            feature size) with the constructor's default arguments.
    """

    name: str
    constructor: str
    module: str
    default_size: int
    min_size: int
    preprocessing: str
    feature_dim: int

    @property
    def default_input_shape(self):
        return (self.default_size, self.default_size, 3)


_REGISTRY = {}


def register_base(spec):
    """Adds a `BaseSpec` to the registry (replacing one of the same name)."""
    _REGISTRY[spec.name] = spec
    return spec


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


def get_spec(name):
    """Returns the `BaseSpec` registered under `name`.

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
        "Unknown base. Expected one of tl_keras.list_bases(), a TF Hub handle "
        f"or a local SavedModel directory.{hint} Received: base={name!r}"
    )


# === keras.applications entries ===

def _app(name, constructor, module, size, preprocessing, feature_dim, min_size=32):
    register_base(
        BaseSpec(name, constructor, module, size, min_size, preprocessing, feature_dim)
    )


_app("vgg16", "VGG16", "vgg16", 224, "caffe", 512)
_app("vgg19", "VGG19", "vgg19", 224, "caffe", 512)
_app("resnet50", "ResNet50", "resnet", 224, "caffe", 2048)
_app("resnet101", "ResNet101", "resnet", 224, "caffe", 2048)
_app("resnet152", "ResNet152", "resnet", 224, "caffe", 2048)
_app("resnet50_v2", "ResNet50V2", "resnet_v2", 224, "tf", 2048)
_app("resnet101_v2", "ResNet101V2", "resnet_v2", 224, "tf", 2048)
_app("resnet152_v2", "ResNet152V2", "resnet_v2", 224, "tf", 2048)
_app("inception_v3", "InceptionV3", "inception_v3", 299, "tf", 2048, min_size=75)
_app(
    "inception_resnet_v2", "InceptionResNetV2", "inception_resnet_v2", 299, "tf", 1536,
    min_size=75,
)
_app("xception", "Xception", "xception", 299, "tf", 2048, min_size=71)
_app("mobilenet", "MobileNet", "mobilenet", 224, "tf", 1024)
_app("mobilenet_v2", "MobileNetV2", "mobilenet_v2", 224, "tf", 1280)
# MobileNetV3, EfficientNet(V2) and ConvNeXt rescale inside the model: their
# `preprocess_input` is the identity, so the model takes [0, 255] pixels as is.
_app("mobilenet_v3_small", "MobileNetV3Small", "mobilenet_v3", 224, "none", 576)
_app("mobilenet_v3_large", "MobileNetV3Large", "mobilenet_v3", 224, "none", 960)
for _b, (_size, _dim) in enumerate(
    [(224, 1280), (240, 1280), (260, 1408), (300, 1536),
     (380, 1792), (456, 2048), (528, 2304), (600, 2560)]
):
    _app(f"efficientnet_b{_b}", f"EfficientNetB{_b}", "efficientnet", _size, "none", _dim)
for _b, (_size, _dim) in enumerate([(224, 1280), (240, 1280), (260, 1408), (300, 1536)]):
    _app(
        f"efficientnet_v2_b{_b}", f"EfficientNetV2B{_b}", "efficientnet_v2", _size,
        "none", _dim,
    )
for _v, _size in (("s", 384), ("m", 480), ("l", 480)):
    _app(
        f"efficientnet_v2_{_v}", f"EfficientNetV2{_v.upper()}", "efficientnet_v2", _size,
        "none", 1280,
    )
_app("densenet121", "DenseNet121", "densenet", 224, "torch", 1024)
_app("densenet169", "DenseNet169", "densenet", 224, "torch", 1664)
_app("densenet201", "DenseNet201", "densenet", 224, "torch", 1920)
for _v, _cls, _dim in (("tiny", "Tiny", 768), ("small", "Small", 768), ("base", "Base", 1024),
                       ("large", "Large", 1536), ("xlarge", "XLarge", 2048)):
    _app(f"convnext_{_v}", f"ConvNeXt{_cls}", "convnext", 224, "none", _dim)
_app("nasnet_mobile", "NASNetMobile", "nasnet", 224, "tf", 1056)
_app("nasnet_large", "NASNetLarge", "nasnet", 331, "tf", 4032)
