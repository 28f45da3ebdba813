"""Source: the registry's named bases (`keras.applications` and registered builders).

Weights are `"imagenet"`, `None` or a local file; offline, a failed download
names the file to pass.
"""

import contextlib
import os
import re
import tempfile

import tensorflow as tf

from tl_keras.bases.base_model import as_pretrained_base
from tl_keras.bases.registry import get_entry
from tl_keras.bases.registry import is_registered
from tl_keras.errors import DownloadError
from tl_keras.io.layout import is_local

SOURCE = "keras.applications"

# Arguments that load_base decides itself: the base is always headless and
# unpooled, so the head and pooling are tl_keras's.
_RESERVED_KWARGS = ("include_top", "pooling", "classes", "classifier_activation",
                    "input_tensor")

_URL_PATTERN = re.compile(r"(https?://\S+?\.h5)")


def check_weights(weights):
    """Validates `weights`: `"imagenet"`, `None` or the path of an existing file
    (on any filesystem tf.io.gfile knows)."""
    if weights is None or weights == "imagenet":
        return weights
    if isinstance(weights, (str, os.PathLike)):
        path = os.fspath(weights)
        if tf.io.gfile.exists(path) and not tf.io.gfile.isdir(path):
            return path
        raise FileNotFoundError(
            "Weights file not found. Expected `weights` to be 'imagenet', None or "
            f"the path to an existing weights file. Received: weights={weights!r}"
        )
    raise ValueError(
        "Expected `weights` to be 'imagenet', None or the path to a weights file. "
        f"Received: weights={weights!r}"
    )


def check_input_shape(entry, input_shape):
    """Returns a valid `(height, width, 3)` input shape for a registry entry."""
    if input_shape is None:
        return entry.default_input_shape
    shape = tuple(input_shape)
    if len(shape) != 3 or shape[-1] != 3:
        raise ValueError(
            "Expected `input_shape` to be (height, width, 3): RGB images, "
            f"channels last. Received: input_shape={input_shape!r}"
        )
    small = [d for d in shape[:2] if d is not None and d < entry.min_size]
    if small:
        raise ValueError(
            f"Input size too small for base '{entry.name}': height and width must be "
            f"at least {entry.min_size} (its default is {entry.default_size}). "
            f"Received: input_shape={input_shape!r}"
        )
    return shape


def claims(base):
    """Whether `base` is a registered name."""
    return is_registered(base)


def load(base, *, weights="imagenet", input_shape=None, trainable=False, **kwargs):
    """Builds the headless, unpooled base registered as `base`, as a
    `PretrainedBase` named after the entry."""
    entry = get_entry(base)
    for key in _RESERVED_KWARGS:
        if key in kwargs:
            raise ValueError(
                f"`{key}` is set by tl_keras: bases are loaded without their "
                "classifier and pooling, and `build_model` adds the head. Remove it. "
                f"Received: {key}={kwargs[key]!r}"
            )
    weights = check_weights(weights)
    input_shape = check_input_shape(entry, input_shape)
    try:
        with _local_file(weights) as local_weights:
            model = entry.builder(weights=local_weights, input_shape=input_shape, **kwargs)
    except Exception as error:  # keras raises a bare Exception on download failure
        if weights == "imagenet" and "URL fetch failure" in str(error):
            raise DownloadError(_download_message(entry, error, input_shape)) from error
        if weights not in (None, "imagenet"):
            raise ValueError(
                f"Could not load the weights file into base '{entry.name}' "
                f"(built with input_shape={input_shape} and {kwargs or 'no extra arguments'}). "
                "The file must hold weights of this architecture, headless "
                f"(include_top=False), with the same constructor arguments. "
                f"Keras said: {error} Received: weights={weights!r}"
            ) from error
        raise
    handle = entry.name if not kwargs else f"{entry.name}({_arguments(kwargs)})"
    return as_pretrained_base(model, source=SOURCE, handle=handle,
                              preprocessing=entry.preprocessing, name=entry.name)


@contextlib.contextmanager
def _local_file(weights):
    """The weights file itself on a local disk; elsewhere (`gs://`, `ram://`) a
    local copy removed afterwards: Keras reads `.h5` weights with h5py, which
    opens local files only."""
    if weights in (None, "imagenet") or is_local(weights):
        yield weights
        return
    with tempfile.TemporaryDirectory() as directory:  # local: h5py's copy
        local = os.path.join(directory, os.path.basename(weights))
        tf.io.gfile.copy(weights, local)
        yield local


def _arguments(kwargs):
    return ", ".join(f"{key}={value!r}" for key, value in sorted(kwargs.items()))


def _download_message(entry, error, input_shape):
    match = _URL_PATTERN.search(str(error))
    url = match.group(1) if match else None
    constructor = getattr(entry.builder, "constructor", entry.name)
    filename = url.rsplit("/", 1)[-1] if url else f"the {constructor} no-top weights"
    cache = os.path.join(os.path.expanduser(os.environ.get("KERAS_HOME", "~/.keras")),
                         "models")
    where = f" from {url}" if url else ""
    size_note = ""
    size = input_shape[0] if input_shape else None
    if size and size != entry.default_size and f"_{size}_" in filename:
        other = filename.replace(f"_{size}_", f"_{entry.default_size}_")
        size_note = (f" Any input size can use the file for another size: a headless "
                     f"base's weights do not depend on it, so {other} works too.")
    return (
        f"Could not download the ImageNet weights of base '{entry.name}' "
        f"({filename}{where}): no network? Download that file on a machine "
        f"with network and pass its path, `weights='/path/to/{filename}'` (CLI: "
        f"--weights /path/to/{filename}), or copy it into {cache}/ where Keras "
        f"looks first.{size_note} Received: weights='imagenet'"
    )
