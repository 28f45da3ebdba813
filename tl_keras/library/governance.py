"""Which version of a library model is approved, labelled or retired, and who said so.

Every decision is an event: one JSON file of its own under
`ROOT/.tl_keras_library/events/`, written once under a name no one else
writes (its time and a random token), never rewritten. The state of the
library is those events replayed in order, and the audit log is the same
files read back. Two people acting at once each add their own file, so
neither change is lost, on a local disk as on `gs://` (no lock and no
compare-and-swap needed; the order of two events in the same microsecond is
their token's). TF Serving ignores the folder: its name is not a model's.

- `approve`: a version is fit to serve, by whom and why (several approvals
  accumulate);
- `promote`: a label (`stable`, `canary`, any name) now points at a version
  (moving it from the one it pointed at);
- `retire`: a version is no longer served and no label may point at it.
"""

import datetime
import getpass
import json
import os
import uuid

import tensorflow as tf

from tl_keras.io import layout
from tl_keras.io.library_records import audit_log  # noqa: F401 (public here too)
from tl_keras.io.library_records import events_dir
from tl_keras.io.library_records import library_state
from tl_keras.io.library_records import resolve_reference  # noqa: F401 (public here too)
from tl_keras.io.library_records import retired_note  # noqa: F401 (public here too)


def approve(root, name, version, *, by, why):
    """Records that `by` approved version `version` of `name` for serving, and why.

    Args:
        root: the library's root (`saved_models`, or `gs://...`).
        name: the model's directory name in the library.
        version: the integer version.
        by: who approves (a name or an e-mail address).
        why: the reason, in words (what was checked).

    Returns:
        The event written.

    Raises:
        ValueError: an unknown model or version, a retired version, or an
            empty `by` or `why`.

    Example:

    >>> event = tl_keras.library.approve("saved_models", "flowers", 1,
    ...                                  by="ana", why="test accuracy 0.94")
    >>> event["action"], event["version"]
    ('approve', 1)
    """
    for field, value in (("by", by), ("why", why)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"Expected `{field}` to say who approves and why. "
                             f"Received: {field}={value!r}")
    _check_version(root, name, version, "approve")
    return _record(root, "approve", name, version, by=by.strip(), why=why.strip())


def promote(root, name, version, *, label="stable"):
    """Points `label` of model `name` at `version` (TF Serving's version label).

    A label points at an approved version only: `models.config` serves approved
    versions alone, so a label on another would load through `NAME@LABEL` but
    never be served.

    Raises:
        ValueError: an unknown model or version, a retired or never-approved
            version, or a label that is not a simple name (letters, digits, `_`, `-`).

    Example:

    >>> event = tl_keras.library.promote("saved_models", "flowers", 1, label="stable")
    >>> tl_keras.library.library_state("saved_models")["flowers"]["labels"]
    {'stable': 1}
    """
    if not isinstance(label, str) or not label or label[0].isdigit() or not all(
            c.isalnum() or c in "_-" for c in label):
        raise ValueError("Expected a label of letters, digits, `_` or `-`, not starting "
                         f"with a digit (TF Serving's rule). Received: label={label!r}")
    _check_version(root, name, version, "promote")
    if not library_state(root).get(name, {}).get("approvals", {}).get(version):
        raise ValueError(
            f"Version {version} of {name!r} has no approval: a label points at an approved "
            "version only (models.config serves approved versions alone). Approve it "
            f"first: tl-keras library approve {name} {version} --by WHO --why WHY. "
            f"Received: promote({name!r}, {version}, label={label!r})")
    return _record(root, "promote", name, version, label=label)


def retire(root, name, version):
    """Retires `version` of `name`: no longer served, no label may point at it.

    Raises:
        ValueError: an unknown model or version, or labels that still point at
            it (promote another version to them first).
    """
    _check_version(root, name, version, "retire")
    labels = sorted(label for label, v in library_state(root).get(name, {}).get(
        "labels", {}).items() if v == version)
    if labels:
        raise ValueError(f"Version {version} of {name!r} still has the label(s) {labels}: "
                         "promote another version to them first. Received: "
                         f"retire({name!r}, {version})")
    return _record(root, "retire", name, version)


def _check_version(root, name, version, action):
    model_dir = os.path.join(os.fspath(root), name)
    versions = layout.list_versions(model_dir)
    if not versions:
        root_dir = os.fspath(root)
        models = sorted(e.rstrip("/") for e in tf.io.gfile.listdir(root_dir)
                        if not e.startswith(".") and layout.list_versions(
                            os.path.join(root_dir, e.rstrip("/")))) \
            if tf.io.gfile.isdir(root_dir) else []
        raise ValueError(f"No model {name!r} in the library at {os.fspath(root)!r}. Its "
                         f"models: {models}. Received: name={name!r}")
    if isinstance(version, bool) or not isinstance(version, int) or version not in versions:
        raise ValueError(f"Model {name!r} has versions {versions}. Received: "
                         f"version={version!r}")
    if not layout.is_version_dir(os.path.join(model_dir, str(version))):
        raise ValueError(f"Version {version} of {name!r} holds no SavedModel. Received: "
                         f"version={version}")
    if action != "retire" and version in library_state(root).get(name, {}).get(
            "retired", []):
        raise ValueError(f"Version {version} of {name!r} is retired: it cannot be "
                         f"{action}d. Received: version={version}")


def _record(root, action, name, version, **fields):
    now = datetime.datetime.now(datetime.timezone.utc)
    event = {"time": now.isoformat(timespec="microseconds"), "user": _user(),
             "action": action, "model": name, "version": int(version), **fields}
    directory = events_dir(root)
    tf.io.gfile.makedirs(directory)
    file = f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex[:12]}.json"
    with tf.io.gfile.GFile(os.path.join(directory, file), "w") as f:
        f.write(json.dumps(event))
    return event


def _user():
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a container without /etc/passwd
        return os.environ.get("USER", "unknown")
