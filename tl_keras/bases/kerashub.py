"""Source: KerasHub presets (names, `kaggle://` and `hf://` handles, local preset
directories) of image backbones.

The preset's image converter (resizing, scaling, normalisation) becomes a layer
inside the base, so the base takes raw [0, 255] pixels like an exported model,
and so do the model and its TF Serving export. A transformer backbone's tokens
are pooled to one vector inside the base (the class token, or their mean); a
convolutional backbone's feature map is pooled by the head, as for any base.
Needs the `keras-hub` package (`pip install "tl_keras[kerashub]"`).
"""

import json
import os
import socket
import urllib.parse

import keras
import tensorflow as tf

from tl_keras.bases.base_model import as_pretrained_base
from tl_keras.errors import DownloadError
from tl_keras.layers.text_preprocessor import TextPreprocessor
from tl_keras.layers.token_pooling import TokenPooling

SOURCE = "keras_hub"
REMOTE = ("kaggle://", "hf://")


def claims(base):
    """Whether `base` is a KerasHub handle, preset name or preset directory."""
    if isinstance(base, os.PathLike):
        base = os.fspath(base)
    if not isinstance(base, str):
        return False
    if base.startswith(REMOTE):
        return True
    if tf.io.gfile.exists(base):  # a path (gs:// too) is never a preset name
        return tf.io.gfile.isdir(base) and is_preset_dir(base)
    return base in preset_names()


def claims_text(embeddings):
    """Whether `embeddings` (of `build_text_model`) is a KerasHub text preset: a
    preset directory with a tokenizer, a handle, or a preset name (a word-vectors
    file on disk never imports keras_hub to find out)."""
    if isinstance(embeddings, os.PathLike):
        embeddings = os.fspath(embeddings)
    if not isinstance(embeddings, str):
        return False
    if tf.io.gfile.exists(embeddings):
        return is_text_preset(embeddings)
    return embeddings.startswith(REMOTE) or embeddings in preset_names()


def is_preset_dir(path):
    """Whether `path` holds a KerasHub preset: a `config.json` of a KerasHub class."""
    config = os.path.join(path, "config.json")
    if not tf.io.gfile.exists(config):
        return False
    try:
        with tf.io.gfile.GFile(config, "r") as f:
            registered = json.load(f).get("registered_name", "")
    except (OSError, ValueError, tf.errors.OpError):
        return False
    return isinstance(registered, str) and registered.startswith("keras_hub>")


def preset_names():
    """The preset names KerasHub knows (empty without keras-hub)."""
    try:
        import keras_hub
    except ImportError:
        return set()
    return set(keras_hub.models.Backbone.presets)


def load(handle, *, weights="imagenet", input_shape=None, trainable=False,
         token_pooling=None):
    """The backbone of a KerasHub preset behind its image converter, on raw pixels.

    `weights=None` builds the preset's architecture with random weights.
    `token_pooling` (transformers only): `"class"` (the class token) or `"mean"`
    (the mean over tokens). Defaults to the class token when the backbone has
    one. (Named apart from `build_model`'s `pooling`, the head's pooling over a
    feature map.)
    """
    keras_hub = _import_keras_hub()
    handle = os.fspath(handle)
    backbone = _backbone(keras_hub, handle, weights)
    if _is_text(backbone):
        raise ValueError("This KerasHub preset is a text backbone: pass it to "
                         f"tl_keras.build_text_model. Received: base={handle!r}")
    converter = _image_converter(keras_hub, handle)
    size = tuple(input_shape or ()) or _default_shape(backbone, converter)
    inputs = keras.Input(size, name="images")
    x = converter(inputs) if converter is not None else inputs
    outputs = backbone(x)
    if len(outputs.shape) == 3:  # (batch, tokens, features): a transformer
        mode = token_pooling or (
            "class" if getattr(backbone, "use_class_token", False) else "mean")
        outputs = TokenPooling(mode, name=f"{mode}_token_pooling")(outputs)
    elif token_pooling is not None:
        raise ValueError("`token_pooling` is for transformer backbones (tokens out); this "
                         "one outputs a feature map. "
                         f"Received: token_pooling={token_pooling!r}")
    base = as_pretrained_base(keras.Model(inputs, outputs), source=SOURCE, handle=handle,
                              preprocessing="none", name=_name(handle),
                              version=preset_version(handle))
    base.trainable = trainable
    return base


def preset_version(handle):
    """What version of a preset `handle` names: the Kaggle version of a preset name
    or `kaggle://` handle, the KerasHub version that saved a preset directory."""
    import keras_hub

    kaggle = keras_hub.models.Backbone.presets.get(handle, {}).get("kaggle_handle", handle)
    if kaggle.startswith("kaggle://") and kaggle.rsplit("/", 1)[-1].isdigit():
        return f"kaggle {kaggle.rsplit('/', 1)[-1]}"
    metadata = os.path.join(handle, "metadata.json")
    if tf.io.gfile.exists(metadata):
        with tf.io.gfile.GFile(metadata, "r") as f:
            return f"keras_hub {json.load(f).get('keras_hub_version')}"
    return None


def is_text_preset(handle):
    """Whether `handle` is a KerasHub preset directory of a text backbone."""
    if not (isinstance(handle, (str, os.PathLike)) and tf.io.gfile.isdir(os.fspath(handle))
            and is_preset_dir(handle)):
        return False
    return tf.io.gfile.exists(os.path.join(handle, "tokenizer.json"))


def load_text(handle, *, sequence_length=None, weights="imagenet", trainable=False):
    """A text backbone behind its preset's tokenizer and packer: strings in, one
    vector out (the pooled output, else the first token's).

    `sequence_length` is capped at what the backbone takes. The tokenizer's ops
    come from tensorflow-text: TF Serving needs a model server built with them.
    """
    keras_hub = _import_keras_hub()
    handle = os.fspath(handle)
    backbone = _backbone(keras_hub, handle, weights)
    if not _is_text(backbone):
        raise ValueError("This KerasHub preset is an image backbone: pass it to "
                         f"tl_keras.build_model. Received: embeddings={handle!r}")
    longest = getattr(backbone, "max_sequence_length", None)
    if sequence_length is not None and longest is not None:
        sequence_length = min(sequence_length, longest)
    arguments = {} if sequence_length is None else {"sequence_length": sequence_length}
    preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(handle, **arguments)
    inputs = keras.Input((), dtype="string", name="texts")
    outputs = backbone(TextPreprocessor(preprocessor, name="tokenizer")(inputs))
    if isinstance(outputs, dict):
        outputs = outputs.get("pooled_output", outputs.get("sequence_output"))
    if len(outputs.shape) == 3:  # tokens: the first is [CLS]
        outputs = TokenPooling("class", name="class_token_pooling")(outputs)
    base = as_pretrained_base(keras.Model(inputs, outputs), source=SOURCE, handle=handle,
                              preprocessing="none", name=_name(handle),
                              version=preset_version(handle))
    base.trainable = trainable
    return base


def _import_keras_hub():
    try:
        import keras_hub
    except ImportError:
        raise ImportError(
            "KerasHub presets need the keras-hub package: pip install "
            "\"tl_keras[kerashub]\" (or pip install keras-hub). Received: no module "
            "named 'keras_hub'") from None
    return keras_hub


def _backbone(keras_hub, handle, weights):
    """The preset's backbone, with its weights or (`weights=None`) random ones."""
    if weights not in ("imagenet", None):
        raise ValueError("A KerasHub preset carries its own weights: pass "
                         "weights='imagenet' (the preset's) or None (random). "
                         f"Received: weights={weights!r}")
    _check_reachable(handle)
    try:
        return keras_hub.models.Backbone.from_preset(handle, load_weights=weights is not None)
    except (OSError, ConnectionError) as error:
        raise _download_error(handle, error) from None


def _check_reachable(handle):
    """An `hf://` download that cannot happen fails at once: Hugging Face's client
    retries for about half a minute first. A checkpoint in its cache needs no
    network. (kagglehub, for names and `kaggle://`, reads its cache first and
    fails at once without network.)"""
    if not handle.startswith("hf://"):
        return
    try:  # what keras_hub downloads `hf://` with; without it keras_hub says so
        import huggingface_hub
    except ImportError:
        return
    repository = handle[len("hf://"):].strip("/")
    if isinstance(huggingface_hub.try_to_load_from_cache(repository, "config.json"), str):
        return  # cached: read offline
    endpoint = urllib.parse.urlsplit(huggingface_hub.constants.ENDPOINT)  # HF_ENDPOINT
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        socket.create_connection((endpoint.hostname, port), timeout=5).close()
    except OSError as error:
        raise _download_error(handle, error) from None


def _download_error(handle, error):
    return DownloadError(
        f"Could not download the KerasHub preset {handle!r} ({error}). On a machine with "
        "network, save it as a directory: `keras_hub.models.ImageClassifier.from_preset("
        f"{handle!r}).save_to_preset('presets/NAME')` (or download it from Kaggle or "
        "Hugging Face), copy the directory here, and pass its path as the base. "
        f"Received: base={handle!r}")


def _image_converter(keras_hub, handle):
    """The preset's image converter, or None when it has none."""
    try:
        return keras_hub.layers.ImageConverter.from_preset(handle)
    except (ValueError, FileNotFoundError):
        return None


def _is_text(backbone):
    """Whether the backbone takes token ids (a text backbone) rather than images."""
    return any("token_ids" in getattr(tensor, "name", "") for tensor in backbone.inputs)


def _default_shape(backbone, converter):
    if converter is not None and converter.image_size is not None:
        return (*converter.image_size, 3)
    shape = getattr(backbone, "image_shape", None) or (None, None, 3)
    return tuple(d if d is not None else 224 for d in shape)


def _name(handle):
    name = handle.rstrip("/").split("/")[-1].split("://")[-1]
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in name).strip("_")
    return cleaned or "keras_hub_backbone"
