import subprocess
import sys
import urllib.error

import keras
import numpy as np
import pytest

import tl_keras as tlk
from tl_keras.bases import get_entry
from tl_keras.cli import main

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
        constructor = get_entry(name).builder.constructor
        assert hasattr(keras.applications, constructor), constructor


@pytest.mark.parametrize("name", CHECKED)
@pytest.mark.slow
def test_spec_matches_the_built_model(name):
    spec = get_entry(name)
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


def test_a_registered_builder_of_your_own_is_a_base(capsys):

    def tiny_cnn(*, weights, input_shape, width=8):
        inputs = keras.Input(input_shape)
        x = keras.layers.Conv2D(width, 3, name="conv")(inputs)
        model = keras.Model(inputs, x)
        if weights not in (None, "imagenet"):
            model.load_weights(weights)
        return model

    try:
        entry = tlk.register_base("Tiny_CNN", tiny_cnn, default_size=40, min_size=8,
                                  preprocessing="unit", feature_dim=8,
                                  feature_size_args=("width",))
        assert "tiny_cnn" in tlk.list_bases()
        assert entry.feature_dim_for() == 8 and entry.feature_dim_for(width=5) == 5
        model = tlk.build_model("tiny_cnn", num_classes=2, weights=None, width=5)
        assert model.input_shape == (None, 40, 40, 3) and model.preprocessing.mode == "unit"
        assert model.base_identity["handle"] == "tiny_cnn(width=5)"
        assert model.feature_model().output_shape == (None, 5)
        assert main(["bases"]) == 0
        assert any(line.split()[:2] == ["tiny_cnn", "40"]
                   for line in capsys.readouterr().out.splitlines())
    finally:
        tlk.unregister_base("tiny_cnn")
    assert "tiny_cnn" not in tlk.list_bases()
    with pytest.raises(ValueError, match=r"No registered base.*Received: name='tiny_cnn'"):
        tlk.unregister_base("tiny_cnn")
    with pytest.raises(ValueError, match="Expected `builder` to be callable"):
        tlk.register_base("broken", "not a function", default_size=32)
    with pytest.raises(ValueError, match=r"Unknown preprocessing mode.*Received: "
                                         r"preprocessing='bgr'"):
        tlk.register_base("broken", tiny_cnn, default_size=32, preprocessing="bgr")


@pytest.mark.slow
def test_cli_bases_shows_the_feature_size_for_the_arguments(capsys):

    assert main(["bases", "--alpha", "0.25"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["mobilenet"][3] == "256"  # 1024 * 0.25
    assert rows["mobilenet_v2"][3] == "1280"  # MobileNetV2 keeps 1280 below alpha 1
    assert "resnet50" not in rows  # alpha does not apply to it


def test_sources_are_asked_in_order_once(tmp_path, monkeypatch):
    from tl_keras import bases

    asked = []
    for source in bases.SOURCES:
        claims = source.claims
        monkeypatch.setattr(source, "claims",
                            lambda base, claims=claims, name=source.SOURCE:
                            asked.append(name) or claims(base))
    base = tlk.load_base("vgg16", weights=None, input_shape=(32, 32, 3))
    assert asked == ["keras.applications"] and base.identity["source"] == "keras.applications"
    asked.clear()
    with pytest.raises(ValueError, match="Unknown base"):
        tlk.load_base("no_such_thing")
    assert asked == ["keras.applications", "exported", "tf_hub", "keras_hub"]


@pytest.mark.slow
def test_importing_tl_keras_changes_no_environment_variable():
    import json

    program = ("import json, os; before = dict(os.environ); import tl_keras; "
               "print(json.dumps([k for k in set(before) | set(os.environ) "
               "if before.get(k) != os.environ.get(k)]))")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=300)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [], done.stderr[-2000:]


@pytest.mark.slow
def test_each_source_refuses_weights_it_cannot_honour(tmp_path):
    """A TF Hub module, an exported model and a keras.Model carry their own
    weights: `weights=None` or a file is refused before any work, not ignored."""
    from tests.fixtures.hub import write_image_feature_vector

    module = write_image_feature_vector(tmp_path / "module")
    with pytest.raises(ValueError, match="A TF Hub module carries its own trained weights.*"
                                         "Received: weights=None"):
        tlk.load_base(str(module), weights=None)
    model = tlk.build_model("mobilenet_v3_small", num_classes=2, weights=None,
                            input_shape=(32, 32, 3))
    export = tlk.export_saved_model(model, tmp_path / "lib" / "m", verbose=0, warmup=False)
    with pytest.raises(ValueError, match="An exported model carries its own trained weights"
                                         ".*Received: weights='w.h5'"):
        tlk.build_model(str(tmp_path / "lib" / "m"), num_classes=2, weights="w.h5")
    with pytest.raises(ValueError, match="A keras.Model of your own keeps its weights"):
        tlk.load_base(model.base, weights=None)
    assert tlk.load_base(export).identity["source"] == "exported"  # the default works


def test_offline_weights_error_says_the_default_size_file_works(monkeypatch):
    import urllib.error

    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr("keras.src.utils.file_utils.urlretrieve", no_network)
    with pytest.raises(tlk.DownloadError, match=r"mobilenet_2_5_224_tf_no_top\.h5 works too"):
        tlk.load_base("mobilenet", weights="imagenet", input_shape=(160, 160, 3), alpha=0.25)
