"""The license and source of a base's weights, as the model card states them."""

import json

import pytest

import tl_keras as tlk
from tl_keras.bases.licenses import UNKNOWN
from tl_keras.bases.licenses import license_of


def _application(name):
    return license_of({"source": "keras.applications", "name": name, "handle": name})


@pytest.mark.parametrize("name, expected", [
    ("vgg16", "CC-BY-4.0"), ("resnet50", "MIT"), ("xception", "MIT"),
    ("inception_v3", "Apache-2.0"), ("mobilenet_v2", "Apache-2.0"),
    ("nasnet_mobile", "Apache-2.0"), ("densenet201", "BSD-3-Clause"),
    ("resnet101", UNKNOWN), ("efficientnet_b3", UNKNOWN), ("convnext_tiny", UNKNOWN),
])
def test_keras_applications_licenses_are_the_documented_ones_or_unknown(name, expected):
    found = _application(name)
    assert found["license"] == expected
    assert "ImageNet" in found["note"]  # the data's terms, for every family
    if expected != UNKNOWN:
        assert "Keras applications documentation" in found["source"]


def test_a_preset_or_module_directory_states_its_own_license(tmp_path):
    preset = tmp_path / "preset"
    preset.mkdir()
    identity = {"source": "keras_hub", "name": "vit", "handle": str(preset)}
    assert license_of(identity)["license"] == UNKNOWN
    (preset / "README.md").write_text("---\nlibrary_name: keras-hub\nlicense: apache-2.0\n"
                                      "---\n# A model\nlicense: not this one\n")
    assert license_of(identity) == {"license": "apache-2.0",
                                    "source": f"stated by {preset}"}
    (preset / "metadata.json").write_text(json.dumps({"license": "gemma"}))
    assert license_of(identity)["license"] == "gemma"  # metadata first
    url = {"source": "tf_hub", "name": "m", "handle": "https://tfhub.dev/google/m/5"}
    assert license_of(url)["license"] == UNKNOWN
    assert "https://tfhub.dev/google/m/5" in license_of(url)["source"]


@pytest.mark.slow
def test_a_chained_export_inherits_its_first_base_license(tmp_path):
    first = tlk.build_model("mobilenet", num_classes=2, weights=None,
                            input_shape=(32, 32, 3), alpha=0.25)
    tlk.export_saved_model(first, str(tmp_path / "first"), class_names=["a", "b"])
    second = tlk.build_model(tlk.load_base(str(tmp_path / "first")), num_classes=2)
    tlk.export_saved_model(second, str(tmp_path / "second"), class_names=["a", "b"])
    card = json.loads((tmp_path / "second" / "1" / "model_card.json").read_text())
    license = card["base"]["license"]
    assert license["license"] == "Apache-2.0"
    assert license["source"].startswith("inherited from the base of first_v1")
