"""The model library's records on disk, read: events, labels, approvals, retirements.

Every decision on a library (`tl_keras.library.approve`, `promote`, `retire`)
is an event: one JSON file of its own under `ROOT/.tl_keras_library/events/`,
written once and never rewritten (see `tl_keras/library/governance.py`, which
writes them). This module reads them back: the audit log, the state they
replay to, and what a `ROOT/NAME@LABEL` reference means. Loading a base or
checking an export reads these records; neither needs the library's governance.

An approval is a governance record, never trust: whether a SavedModel graph
may load under Keras's safe mode is the loading process's decision alone
(`tl_keras.io.safe_loading`).
"""

import json
import os

import tensorflow as tf

LIBRARY_DIR = ".tl_keras_library"


def events_dir(root):
    """Where the library at `root` keeps its event files."""
    return os.path.join(os.fspath(root), LIBRARY_DIR, "events")


def audit_log(root="saved_models"):
    """Every decision taken on the library at `root`, oldest first: a list of
    dicts with `time`, `user` (the identity the deciding process ran as),
    `action`, `model`, `version` and the action's own fields (`label`; `by`
    and `why`)."""
    directory = events_dir(root)
    if not tf.io.gfile.isdir(directory):
        return []
    events = []
    for name in sorted(tf.io.gfile.listdir(directory)):
        if name.endswith(".json"):
            with tf.io.gfile.GFile(os.path.join(directory, name), "r") as f:
                events.append(json.loads(f.read()))
    return events


def library_state(root="saved_models"):
    """`{model: {"labels": {label: version}, "retired": [versions], "approvals":
    {version: [{by, user, why, time}]}}}` from the audit log."""
    state = {}
    for event in audit_log(root):
        model = state.setdefault(event["model"], {"labels": {}, "retired": [],
                                                  "approvals": {}})
        version = event["version"]
        if event["action"] == "approve":
            model["approvals"].setdefault(version, []).append(
                {"by": event["by"], "user": event.get("user"), "why": event["why"],
                 "time": event["time"]})
        elif event["action"] == "promote":
            model["labels"][event["label"]] = version
        elif event["action"] == "retire" and version not in model["retired"]:
            model["retired"].append(version)
    return state


def _split_version_dir(version_dir):
    """`ROOT/NAME/VERSION` as `(root, name, version)`, version a str."""
    version_dir = os.fspath(version_dir).rstrip("/")
    model_dir, _, version = version_dir.rpartition("/")
    root, _, name = model_dir.rpartition("/")
    return root or ".", name, version


def approvals_of(version_dir):
    """The approvals recorded for the version at `version_dir` (a list, maybe empty)."""
    root, name, version = _split_version_dir(version_dir)
    if not version.isdigit():
        return []
    return library_state(root).get(name, {}).get("approvals", {}).get(int(version), [])


def resolve_reference(path):
    """`ROOT/NAME@LABEL` as the version directory the label points at; any other
    path as it is.

    Raises:
        ValueError: a label the model does not have (the message lists its labels).

    Example:

    >>> event = tl_keras.library.approve("saved_models", "flowers", 1, by="ana", why="ok")
    >>> event = tl_keras.library.promote("saved_models", "flowers", 1, label="stable")
    >>> tl_keras.library.resolve_reference("saved_models/flowers@stable")
    'saved_models/flowers/1'
    """
    if not isinstance(path, (str, os.PathLike)):
        return path
    path = os.fspath(path)
    head, _, last = path.rstrip("/").rpartition("/")
    if "@" not in last:
        return path
    name, _, label = last.partition("@")
    root = head or "."
    if not tf.io.gfile.isdir(os.path.join(root, name)):
        raise ValueError(f"No model {name!r} in {root!r}: that directory does not exist"
                         f"{' here (' + os.getcwd() + ')' if '://' not in root else ''}. "
                         f"Pass the library's path. Received: {path!r}")
    labels = library_state(root).get(name, {}).get("labels", {})
    if label not in labels:
        raise ValueError(f"Model {name!r} in {root!r} has no label {label!r}. Its labels: "
                         f"{sorted(labels)} (tl-keras library promote {name} VERSION "
                         f"--label {label}). Received: {path!r}")
    return os.path.join(root, name, str(labels[label])) if head else \
        os.path.join(name, str(labels[label]))


def retired_note(version_dir):
    """A line saying that `version_dir` is a retired version, or None."""
    root, name, version = _split_version_dir(version_dir)
    if not version.isdigit():
        return None
    retired = library_state(root).get(name, {}).get("retired", [])
    if int(version) in retired:
        return (f"Version {version} of {name!r} is retired in its library: it is no longer "
                "served (tl-keras library log says when and by whom).")
    return None
