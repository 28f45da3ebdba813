"""Which SavedModels a `.keras` file may load while Keras's safe mode is on.

A `HubLayer` rebuilt from its config (what `keras.saving.load_model` does)
calls `tf.saved_model.load` on its handle, and a SavedModel's graph can read
and write files on the loading machine. Keras's own `TFSMLayer` refuses to
load under safe mode for that reason; `HubLayer` does the same unless the
handle is trusted:

- the handle lies under a root passed to `trust(root)` or named in the
  `TL_KERAS_TRUSTED_ROOTS` environment variable (roots separated by commas,
  so `gs://` roots fit), for a process that cannot call `trust` (the CLI);
- this process already loaded that handle from your own code
  (`HubLayer(handle)` or `load_base(handle)`): you chose it;
- the `.keras` file itself is read under `trusted_loading()`: `load_base` and
  `check_export` of a version in a trusted root.

Only the loading process decides, as Keras's rule for `TFSMLayer` is: nothing
written beside a model (a library approval, its card, an event file) makes it
trusted, since whoever can write the model can write those too. An approval is
a governance record (who may serve what), not a licence to run a graph.

`keras.config.enable_unsafe_deserialization()` or `safe_mode=False` turns the
check off, as for every unsafe Keras object. Trust lasts for the process only:
nothing is written to disk.
"""

import contextlib
import contextvars
import os

TRUSTED_ROOTS_VARIABLE = "TL_KERAS_TRUSTED_ROOTS"

_roots = []
_loaded_handles = set()
_trusted_loading = contextvars.ContextVar("tl_keras_trusted_loading", default=False)


def _normalized(path):
    path = os.fspath(path)
    if "://" in path:  # a URL or a remote filesystem: compared as written
        return path.rstrip("/")
    return os.path.realpath(os.path.expanduser(path))  # local: no `..` escapes


def trust(*roots):
    """Trusts the SavedModels and library models under each of `roots` for
    this process: `.keras` files holding a `HubLayer` whose module lies there
    load under safe mode, and so do the library's models stored there.

    Args:
        *roots: directories (`saved_models`, `/models/hub`, `gs://org/models`)
            or URL prefixes (`https://tfhub.dev/google`).

    Raises:
        ValueError: no root, or an empty one.

    Example:

    >>> tl_keras.trust("saved_models")  # or "gs://our-team/models"
    >>> tl_keras.trusted_roots()[-1].endswith("saved_models")
    True
    """
    if not roots or any(not isinstance(r, (str, os.PathLike)) or not os.fspath(r)
                        for r in roots):
        raise ValueError("Expected one or more directories or URL prefixes to trust. "
                         f"Received: roots={roots!r}")
    for root in roots:
        root = _normalized(root)
        if root not in _roots:
            _roots.append(root)


def trusted_roots():
    """The trusted roots: those passed to `trust`, then `TL_KERAS_TRUSTED_ROOTS`'s."""
    listed = [r.strip() for r in os.environ.get(TRUSTED_ROOTS_VARIABLE, "").split(",")]
    return list(_roots) + [_normalized(r) for r in listed if r]


def is_trusted(handle):
    """Whether a module or version directory at `handle` may be loaded under
    safe mode (see the module's docstring for the rules)."""
    if _trusted_loading.get():
        return True
    path = _normalized(handle)
    if path in _loaded_handles:
        return True
    return any(path == root or path.startswith(root.rstrip("/") + "/")
               for root in trusted_roots())


def remember_loaded(handle):
    """Records that this process loaded `handle` from its own code."""
    _loaded_handles.add(_normalized(handle))


@contextlib.contextmanager
def trusted_loading(trusted=True):
    """Within this block, `HubLayer`s rebuilt from a config load their modules
    (when `trusted` is true): for reading a `.keras` file one trusts."""
    token = _trusted_loading.set(bool(trusted) or _trusted_loading.get())
    try:
        yield
    finally:
        _trusted_loading.reset(token)


def refusal(handle):
    """The error message for an untrusted handle under safe mode."""
    handle = os.fspath(handle)
    root = handle.rstrip("/").rpartition("/")[0] or handle
    return (
        "Refused to load the SavedModel of a HubLayer under Keras's safe mode: loading "
        "a SavedModel runs its TensorFlow graph, which can read and write files on "
        "this machine (Keras's TFSMLayer refuses the same). If you trust it, call "
        f"`tl_keras.trust({root!r})` (or set {TRUSTED_ROOTS_VARIABLE}={root}) to "
        "trust the modules and library models under that directory (an approval in "
        "a model library does not: whoever can write a model can write its "
        "approval), or trust everything with "
        "`keras.config.enable_unsafe_deserialization()` or "
        f"`keras.saving.load_model(..., safe_mode=False)`. Received: handle={handle!r}"
    )
