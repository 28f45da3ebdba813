"""The license and source of a base's weights, as the model card states them."""

import json

import pytest

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


def test_an_export_inherits_its_first_base_license_and_a_model_of_your_own_has_none():
    parent = {"license": "Apache-2.0", "source": "tensorflow/models checkpoints"}
    identity = {"source": "exported", "name": "cats_v2", "handle": "lib/cats",
                "lineage": [{"name": "cats", "version": 2, "base": {"license": parent}}]}
    found = license_of(identity)
    assert found["license"] == "Apache-2.0"
    assert found["source"] == ("inherited from the base of cats_v2: tensorflow/models "
                               "checkpoints")
    identity["lineage"][0]["base"] = {"name": "resnet50"}  # a card older than licenses
    assert license_of(identity)["license"] == UNKNOWN
    assert license_of({"source": "keras.Model", "name": "mine"})["license"] == UNKNOWN


def test_word_vectors_are_named_as_such_not_as_a_model_of_your_own():
    """Issue 34 row 23: a text model's card called GloVe 'a model of your own'."""
    glove = license_of({"source": "word_vectors", "name": "embedding",
                        "handle": "/data/glove.twitter.27B.25d.txt"})
    assert glove["license"] == "PDDL-1.0" and "GloVe" in glove["source"]
    other = license_of({"source": "word_vectors", "name": "embedding",
                        "handle": "vectors/cc.fr.300.vec"})
    assert other["license"] == UNKNOWN
    assert other["source"] == ("the word vectors in vectors/cc.fr.300.vec: see where they "
                               "came from")
    arrays = license_of({"source": "word_vectors", "name": "embedding", "handle": None})
    assert "word vectors given as arrays" in arrays["source"]
    assert "your own" not in arrays["source"]
