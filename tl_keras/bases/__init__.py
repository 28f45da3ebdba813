"""Where bases come from: a table of sources, asked in order, once.

Each source is one module that says whether a `base` argument is its own
(`claims`) and loads it (`load`) as a `PretrainedBase`:

- `applications`: registry names (`tl_keras.list_bases()`: keras.applications
  and builders registered with `register_base`);
- `exported`: directories written by `tl_keras.export_saved_model`;
- `hub`: TF Hub handles and local TF Hub SavedModel directories;
- `kerashub`: KerasHub presets (names, `kaggle://` and `hf://` handles, preset
  directories) of image backbones.

A new source is one new module added to `SOURCES`.
"""

import os

import keras
import tensorflow as tf

from tl_keras.bases import applications
from tl_keras.bases import exported
from tl_keras.bases import hub
from tl_keras.bases import kerashub
from tl_keras.bases.base_model import PretrainedBase
from tl_keras.bases.base_model import identity_of
from tl_keras.bases.registry import BaseEntry
from tl_keras.bases.registry import get_entry
from tl_keras.bases.registry import list_bases
from tl_keras.bases.registry import register_base
from tl_keras.bases.registry import unknown_base_message
from tl_keras.bases.registry import unregister_base

SOURCES = (applications, exported, hub, kerashub)


def load_base(base, *, weights="imagenet", input_shape=None, trainable=False, **kwargs):
    """Loads a pre-trained base, frozen, without its classifier and pooling.

    Args:
        base: a registry name from `tl_keras.list_bases()` (`"resnet50"`), the
            directory of a model exported by `tl_keras.export_saved_model`
            (`"saved_models/NAME"` for its latest version, or
            `"saved_models/NAME/2"`), a TF Hub image module (a tfhub.dev or
            Kaggle URL, a Kaggle Models handle, or a local module directory;
            it takes [0, 1] pixels and `build_model` rescales to that), a
            KerasHub preset of an image backbone (a preset name, a `kaggle://`
            or `hf://` handle, or a preset directory; its image converter is
            inside, so it takes [0, 255] pixels), or a `keras.Model` of your own
            that takes [0, 255] RGB pixels.
        weights: for a registry name, `"imagenet"`, `None` (random
            initialization) or the path to a weights file (`.h5` or
            `.weights.h5`); for a KerasHub preset, `"imagenet"` (the preset's own
            weights) or `None`. TF Hub modules, exported models and your own
            `keras.Model` carry their weights: anything but the default is
            refused. Defaults to `"imagenet"`.
        input_shape: `(height, width, 3)`. Defaults to `None`: the base's
            default size (224x224 for most, 299x299 for Inception/Xception).
        trainable: whether the returned base is trainable. Defaults to `False`.
        **kwargs: passed to the registry entry's builder, for example
            `alpha=0.25` for the MobileNets; for a TF Hub module, to
            `tl_keras.HubLayer` (`output_key`, `signature`, `arguments`); for
            a KerasHub transformer, `token_pooling="class"` or `"mean"`.

    Returns:
        A `tl_keras.PretrainedBase` (a functional `keras.Model`) from
        preprocessed pixels (registry names, TF Hub modules) or raw pixels
        (exported models) to a feature map or vector. Its `identity` says
        where it came from, the preprocessing it needs and its lineage; a
        `keras.Model` of your own is returned as it is.

    Raises:
        ValueError: an unknown base (the message lists close names), an input
            shape below the base's minimum, or a weights file that does not fit.
        FileNotFoundError: `weights` is a path that does not exist.
        tl_keras.errors.DownloadError: the ImageNet weights could not be
            downloaded; the message names the file to pass as `weights=PATH`.

    Example:

    >>> base = tl_keras.load_base("mobilenet_v2", weights=None,
    ...                           input_shape=(96, 96, 3))
    >>> base.trainable
    False
    """
    # Asks each source in `SOURCES` in turn whether `base` is its own, and loads
    # it with the first that says yes; each source refuses what it cannot honour.
    if isinstance(base, keras.Model):
        if weights != "imagenet" or kwargs:
            raise ValueError("A keras.Model of your own keeps its weights and its "
                             "construction: `weights` and builder arguments do not apply. "
                             f"Received: weights={weights!r}, kwargs={kwargs}")
        model = base
    else:
        model = source_of(base).load(base, weights=weights, input_shape=input_shape,
                                     trainable=trainable, **kwargs)
    model.trainable = trainable
    return model


def source_of(base):
    """The source (a module of `SOURCES`) that loads `base`, without loading it:
    for checking a list of bases before any work.

    Raises:
        ValueError: no source knows `base` (the message lists close names).
    """
    source = next((source for source in SOURCES if source.claims(base)), None)
    if source is None:
        if isinstance(base, (str, os.PathLike)) and tf.io.gfile.isdir(os.fspath(base)):
            raise ValueError(exported.directory_problem(base))
        raise ValueError(unknown_base_message(base))
    return source


__all__ = [
    "BaseEntry", "PretrainedBase", "SOURCES", "get_entry", "identity_of", "list_bases",
    "load_base", "register_base", "source_of", "unregister_base",
]
