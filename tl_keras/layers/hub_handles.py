"""TF Hub handles: what is one, where modules are cached, resolving to a local directory."""

import contextlib
import os
import re
import threading

import tensorflow as tf

from tl_keras.errors import DownloadError

TF1_MODULE_PROTO = "tfhub_module.pb"
_KAGGLE_HANDLE = re.compile(r"^[\w-]+/[\w-]+/[\w-]+/[\w.-]+(/\d+)?$")


def default_cache_dir():
    """Where TF Hub modules are cached: `TFHUB_CACHE_DIR`, else a directory under
    `~/.cache` that survives a restart (TF Hub's own default is under /tmp)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.environ.get("TFHUB_CACHE_DIR") or os.path.join(base, "tfhub_modules")


def is_hub_handle(handle):
    """Whether `handle` looks like a TF Hub URL or a Kaggle Models handle."""
    if not isinstance(handle, str):
        return False
    if handle.startswith(("http://", "https://", "gs://")):
        return True
    return bool(_KAGGLE_HANDLE.match(handle)) and not tf.io.gfile.exists(handle)


def is_saved_model_dir(path):
    gfile = tf.io.gfile
    return gfile.isdir(path) and (
        gfile.exists(os.path.join(path, "saved_model.pb"))
        or gfile.exists(os.path.join(path, TF1_MODULE_PROTO))
    )


def resolve_handle(handle):
    """Returns the local directory of a module: downloaded and cached if needed.

    Raises:
        ValueError: `handle` is neither a URL, a Kaggle handle nor an existing
            directory, or the directory is not a SavedModel.
        tl_keras.DownloadError: the download failed (offline, most often).
    """
    if isinstance(handle, os.PathLike):
        handle = os.fspath(handle)
    if isinstance(handle, str) and not handle.startswith(("http://", "https://")) \
            and tf.io.gfile.isdir(handle):  # a module directory, gs:// and ram:// too
        if not is_saved_model_dir(handle):
            raise ValueError(
                "This directory is not a SavedModel: it holds neither saved_model.pb "
                f"nor {TF1_MODULE_PROTO}. Received: handle={handle!r}"
            )
        return handle
    if not is_hub_handle(handle):
        raise ValueError(
            "Expected a TF Hub handle: a tfhub.dev or Kaggle URL, a Kaggle Models "
            "handle (owner/model/framework/variation/version) or a local SavedModel "
            f"directory. Received: handle={handle!r}"
        )
    url = handle
    if not handle.startswith(("http://", "https://", "gs://")):
        url = f"https://www.kaggle.com/models/{handle}"
    try:
        import tensorflow_hub
    except ImportError as error:
        raise ImportError(
            f"Downloading the TF Hub module {handle!r} needs tensorflow-hub: pip install "
            '"tl_keras[hub]" (tensorflow-hub and tf-keras for your TensorFlow), or '
            "download the module where there is one, extract it, and pass the local "
            f"directory instead. Received: handle={handle!r}") from error
    try:
        with _cache_dir_set():
            return tensorflow_hub.resolve(url)
    # tensorflow_hub raises these kinds: URLError (an OSError) offline, HTTPError
    # (an OSError) for a missing module, tf.errors for gs://, ValueError for a
    # handle it cannot parse or an archive it cannot extract.
    except (OSError, ValueError, tf.errors.OpError) as error:
        raise DownloadError(
            f"Could not download the TF Hub module {handle!r} ({type(error).__name__}: "
            f"{error}). No network? Download it where there is one (its page offers "
            "the SavedModel as a .tar.gz), extract it, and pass the local directory "
            "instead: HubLayer('/path/to/module') or build_model('/path/to/module', "
            f"...). Received: handle={handle!r}"
        ) from error


# tensorflow_hub takes its cache directory from a flag or the environment only:
# downloads that set it hold this lock, so two threads never swap it under
# each other (a user's own `TFHUB_CACHE_DIR` is left alone).
_CACHE_DIR_LOCK = threading.Lock()


@contextlib.contextmanager
def _cache_dir_set():
    """`TFHUB_CACHE_DIR` set (to `default_cache_dir()` unless the user set it) for
    tensorflow_hub's resolver, and the environment restored afterwards."""
    with _CACHE_DIR_LOCK:
        if "TFHUB_CACHE_DIR" in os.environ:
            yield
            return
        os.environ["TFHUB_CACHE_DIR"] = default_cache_dir()
        try:
            yield
        finally:
            os.environ.pop("TFHUB_CACHE_DIR", None)
