"""The license and source of a base's pre-trained weights, for the model card.

The `keras.applications` entries are those Keras's own documentation states
per model (the "License" sections of the Keras 2 applications page, kept in
keras-team/keras's `docs/templates/applications.md`). Families it does not
document are "unknown: check before use", with where their weights come from
when Keras's docstrings say. A TF Hub module or KerasHub preset directory says
its own license where it carries one (`metadata.json`'s `license`, or the
`license:` line of a Hugging Face `README.md`'s front matter).

Every ImageNet-trained weight also inherits a question no table settles:
ImageNet's terms restrict the images to non-commercial research. The card
says so; a reviewer decides.
"""

import json
import os

import tensorflow as tf

from tl_keras.bases.registry import get_entry

UNKNOWN = "unknown: check before use"

_KERAS_DOCS = ("Keras applications documentation (keras-team/keras, "
               "docs/templates/applications.md)")
_IMAGENET = ("trained on ImageNet (ILSVRC-2012), whose terms restrict the images to "
             "non-commercial research: check what that means for your use")

_APACHE_TF_MODELS = {"license": "Apache-2.0",
                     "source": "tensorflow/models checkpoints, per " + _KERAS_DOCS}

# By the `keras.applications` submodule of the registry entry.
APPLICATIONS = {
    "vgg16": {"license": "CC-BY-4.0",
              "source": "ported from VGG at Oxford (robots.ox.ac.uk/~vgg/research/"
                        "very_deep), per " + _KERAS_DOCS},
    "vgg19": {"license": "CC-BY-4.0",
              "source": "ported from VGG at Oxford (robots.ox.ac.uk/~vgg/research/"
                        "very_deep), per " + _KERAS_DOCS},
    "xception": {"license": "MIT", "source": "trained by the Keras authors, per "
                                             + _KERAS_DOCS},
    "inception_v3": _APACHE_TF_MODELS,
    "inception_resnet_v2": _APACHE_TF_MODELS,
    "mobilenet": _APACHE_TF_MODELS,
    "mobilenet_v2": _APACHE_TF_MODELS,
    "nasnet": _APACHE_TF_MODELS,
    "densenet": {"license": "BSD-3-Clause",
                 "source": "ported from liuzhuang13/DenseNet, per " + _KERAS_DOCS},
    "convnext": {"license": UNKNOWN,
                 "source": "ported from facebookresearch/ConvNeXt (Keras's ConvNeXt "
                           "docstring): check that repository's license"},
}
# Documented for ResNet50 only: ResNet101/152 share its preprocessing, not a statement.
RESNET50 = {"license": "MIT",
            "source": "ported from Kaiming He's release (KaimingHe/deep-residual-"
                      "networks), per " + _KERAS_DOCS}


def _application_license(name):
    if name == "resnet50":
        return dict(RESNET50)
    builder = get_entry(name).builder
    module = getattr(builder, "module", None)
    found = APPLICATIONS.get(module)
    if found is None:
        return {"license": UNKNOWN,
                "source": f"keras.applications.{getattr(builder, 'constructor', name)}: "
                          "its weights' license is not documented by Keras"}
    return dict(found)


def _front_matter_license(readme):
    with tf.io.gfile.GFile(readme, "r") as f:
        lines = f.read().splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    for line in lines[1:]:
        if line.strip() == "---":
            return None
        key, _, value = line.partition(":")
        if key.strip() == "license" and value.strip():
            return value.strip().strip("'\"")
    return None


def _directory_license(directory):
    """A license a module or preset directory states about itself, or None."""
    metadata = os.path.join(directory, "metadata.json")
    if tf.io.gfile.exists(metadata):
        with tf.io.gfile.GFile(metadata, "r") as f:
            stated = json.loads(f.read()).get("license")
        if stated:
            return str(stated)
    readme = os.path.join(directory, "README.md")
    if tf.io.gfile.exists(readme):
        return _front_matter_license(readme)
    return None


def license_of(identity):
    """`{"license", "source", "note"?}` for a base's identity (`PretrainedBase.identity`):
    the license of the pre-trained weights such a base loads, and where it is stated.
    """
    source, handle, name = identity.get("source"), identity.get("handle"), identity.get("name")
    if source == "keras.applications" and name:
        found = _application_license(name)
        found["note"] = _IMAGENET
        return found
    if source in ("tf_hub", "keras_hub") and handle:
        directory = os.fspath(handle)
        stated = _directory_license(directory) if tf.io.gfile.isdir(directory) else None
        return {"license": stated or UNKNOWN,
                "source": (f"stated by {directory}" if stated else
                           f"{handle}: see its model page or the license file beside it")}
    if source == "exported":
        lineage = identity.get("lineage") or []
        parent = lineage[0].get("base") if lineage else None
        inherited = (parent or {}).get("license")
        if inherited:
            return dict(inherited, source=f"inherited from the base of {name}: "
                                          f"{inherited.get('source')}")
        return {"license": UNKNOWN, "source": f"the export {handle}: its card names none"}
    if source == "word_vectors":
        return _word_vectors_license(handle)
    return {"license": UNKNOWN, "source": f"a model of your own ({name})"}


def _word_vectors_license(handle):
    """Word vectors: GloVe's files by their name (Stanford states the Public Domain
    Dedication and License v1.0 for them), else unknown, saying where they came from."""
    if handle and "glove" in os.path.basename(os.fspath(handle)).lower():
        return {"license": "PDDL-1.0",
                "source": f"GloVe word vectors ({handle}): Stanford's GloVe page states "
                          "the Public Domain Dedication and License v1.0"}
    where = f"the word vectors in {handle}" if handle else "word vectors given as arrays"
    return {"license": UNKNOWN, "source": f"{where}: see where they came from"}
