import urllib.error

import keras
import numpy as np
import pytest

import tl_keras as tlk
from tl_keras.bases import get_spec

ISSUE_NAMES = (
    ["vgg16", "vgg19", "resnet50", "resnet101", "resnet152", "resnet50_v2",
     "resnet101_v2", "resnet152_v2", "inception_v3", "inception_resnet_v2", "xception",
     "mobilenet", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large"]
    + [f"efficientnet_b{i}" for i in range(8)]
    + [f"efficientnet_v2_b{i}" for i in range(4)]
    + ["efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l",
       "densenet121", "densenet169", "densenet201"]
    + [f"convnext_{v}" for v in ("tiny", "small", "base", "large", "xlarge")]
    + ["nasnet_mobile", "nasnet_large"]
)

# A base for each distinct (constructor family, feature size); building all 49
# takes minutes, these cover every family and most sizes.
CHECKED = ["vgg16", "resnet50", "resnet50_v2", "inception_v3", "inception_resnet_v2",
           "xception", "mobilenet", "mobilenet_v2", "mobilenet_v3_small",
           "mobilenet_v3_large", "efficientnet_b0", "efficientnet_b2",
           "efficientnet_v2_b0", "efficientnet_v2_b3", "densenet121", "densenet169",
           "convnext_tiny", "convnext_base", "nasnet_mobile"]


def test_registry_has_every_keras_applications_family():
    assert sorted(ISSUE_NAMES) == tlk.list_bases()
    for name in ISSUE_NAMES:
        constructor = get_spec(name).constructor
        assert hasattr(keras.applications, constructor), constructor


@pytest.mark.parametrize("name", CHECKED)
def test_spec_matches_the_built_model(name):
    spec = get_spec(name)
    size = spec.min_size
    base = tlk.load_base(name, weights=None, input_shape=(size, size, 3))
    assert base.output_shape[-1] == spec.feature_dim
    assert base.name == name
    assert not base.trainable
    assert base.trainable_weights == []
    with pytest.raises(ValueError, match=f"at least {size}"):
        tlk.load_base(name, weights=None, input_shape=(size - 1, size - 1, 3))


def test_default_input_shape_and_kwargs_reach_the_constructor():
    base = tlk.load_base("mobilenet", weights=None, alpha=0.25)
    assert base.input_shape == (None, 224, 224, 3)
    assert base.output_shape[-1] == 256  # 1024 * alpha


def test_trainable_true_returns_a_trainable_base():
    base = tlk.load_base("mobilenet_v3_small", weights=None, input_shape=(32, 32, 3),
                         trainable=True)
    assert base.trainable and base.trainable_weights


def test_weights_file_round_trip(tmp_path):
    source = tlk.load_base("mobilenet", weights=None, input_shape=(32, 32, 3), alpha=0.25)
    path = str(tmp_path / "mobilenet.weights.h5")
    source.save_weights(path)
    keras.utils.set_random_seed(99)
    loaded = tlk.load_base("mobilenet", weights=path, input_shape=(32, 32, 3), alpha=0.25)
    for a, b in zip(source.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # A file of another architecture is a clear error.
    with pytest.raises(ValueError, match="Could not load the weights file into base 'vgg16'"):
        tlk.load_base("vgg16", weights=path, input_shape=(32, 32, 3))


def test_missing_weights_file():
    with pytest.raises(FileNotFoundError, match=r"Received: weights='nope\.h5'"):
        tlk.load_base("resnet50", weights="nope.h5")


def test_offline_imagenet_download_names_the_file(monkeypatch):
    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr("keras.src.utils.file_utils.urlretrieve", no_network)
    with pytest.raises(tlk.DownloadError) as info:
        tlk.load_base("mobilenet_v2", weights="imagenet", input_shape=(96, 96, 3))
    message = str(info.value)
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5" in message
    assert "weights='/path/to/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96" in message
    assert message.endswith("Received: weights='imagenet'")


def test_unknown_base_lists_close_names():
    with pytest.raises(ValueError, match=r"Did you mean one of \['resnet50'.*Received: "
                                         r"base='resnet5'"):
        tlk.load_base("resnet5")


def test_bad_input_shapes_and_reserved_arguments():
    with pytest.raises(ValueError, match=r"\(height, width, 3\)"):
        tlk.load_base("vgg16", weights=None, input_shape=(32, 32))
    with pytest.raises(ValueError, match="include_top"):
        tlk.load_base("vgg16", weights=None, include_top=True)
    with pytest.raises(ValueError, match="Expected `weights`"):
        tlk.load_base("vgg16", weights=3)
