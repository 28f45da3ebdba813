"""The organisation's model library: the exports under `saved_models/`."""

import os

import tensorflow as tf

from tl_keras.io import layout
from tl_keras.library.governance import library_state


def list_models(root="saved_models"):
    """Lists every exported model version under `root`, from the model cards.

    Args:
        root: the library's root directory. Defaults to `"saved_models"`.

    Returns:
        A list of dicts, one per version directory, sorted by name and version:
        `name`, `version`, `path`, `status` (`"ok"`, or what is wrong with it:
        `"broken: ..."`, `"foreign: ..."`), `base`, `base_handle` and
        `base_version` (where the base came from: a preset or module handle
        and its version), `classes`, `metrics`, `created`, `lineage` (names
        of the models it descends from), and its governance: `state`
        (`"approved"`, `"retired"` or `"candidate"`) and `labels` (the
        labels that point at it; see `tl_keras.library.promote`).

    Example:

    >>> [(m["name"], m["version"]) for m in tl_keras.list_models()]
    [('flowers', 1), ('flowers', 2)]
    """
    root = os.fspath(root)
    gfile = tf.io.gfile
    if not gfile.isdir(root):
        raise ValueError(f"Expected a directory of exported models. Received: root={root!r}")
    entries = []
    for name in sorted(entry.rstrip("/") for entry in gfile.listdir(root)):
        model_dir = os.path.join(root, name)
        if name.startswith(".") or not gfile.isdir(model_dir):
            continue
        children = sorted(c.rstrip("/") for c in gfile.listdir(model_dir)
                          if not c.startswith("."))
        versions = [c for c in children if c.isdigit()
                    and gfile.isdir(os.path.join(model_dir, c))]
        if not versions:
            entries.append(_entry(name, None, model_dir,
                                  "foreign: no integer version directory"))
            continue
        for child in children:
            path = os.path.join(model_dir, child)
            if child in versions:
                entries.append(_version_entry(name, int(child), path))
            elif gfile.isdir(path):
                entries.append(_entry(name, child, path,
                                      "foreign: not an integer version (TF Serving "
                                      "ignores it)"))
    state = library_state(root)
    for entry in entries:
        model = state.get(entry["name"], {"labels": {}, "retired": [], "approvals": {}})
        version = entry["version"]
        entry["state"] = ("retired" if version in model["retired"] else "approved"
                          if version in model["approvals"] else "candidate")
        entry["labels"] = sorted(k for k, v in model["labels"].items() if v == version)
    return sorted(entries, key=lambda e: (e["name"], _order(e["version"])))


def _order(version):
    return (0, version) if isinstance(version, int) else (1, str(version))


def _entry(name, version, path, status, card=None):
    card = card or {}
    return {
        "name": name, "version": version, "path": path, "status": status,
        "base": (card.get("base") or {}).get("name"),
        "base_handle": (card.get("base") or {}).get("handle"),
        "base_version": (card.get("base") or {}).get("version"),
        "classes": card.get("classes"),
        "metrics": card.get("metrics", {}),
        "created": card.get("created"),
        "lineage": [f"{step.get('name')}/{step.get('version')}"
                    for step in card.get("lineage", [])],
    }


def _version_entry(name, version, path):
    if not layout.is_version_dir(path):
        return _entry(name, version, path, "broken: no saved_model.pb")
    if not layout.has_model_card(path):
        return _entry(name, version, path, "foreign: a SavedModel without a tl_keras "
                                           "model card")
    try:
        card = layout.read_model_card(path)
    except (OSError, ValueError) as error:
        return _entry(name, version, path, f"broken: unreadable model card ({error})")
    status = "ok" if layout.has_keras_model(path) else \
        "ok (serving only: no Keras model to reuse as a base)"
    return _entry(name, version, path, status, card)


def _handle(entry):
    """`; base HANDLE (VERSION)` where the base came from a handle (a preset, a
    module) rather than a name in the registry."""
    handle = entry.get("base_handle")
    if not handle or handle == entry["base"] or entry["lineage"]:
        return ""
    version = entry.get("base_version")
    return f"; base {handle}" + (f" ({version})" if version else "")


def format_models(entries):
    """A text table of `list_models` entries."""
    lines = [f"{'name':<24}{'ver':>4}  {'base':<20}{'classes':>8}  {'val_accuracy':>12}  "
             f"{'created':<26}status / lineage"]
    for e in entries:
        accuracy = e["metrics"].get("val_accuracy")
        lines.append(
            f"{e['name']:<24}{str(e['version']):>4}  {str(e['base'] or '-'):<20}"
            f"{len(e['classes']) if e['classes'] else '-':>8}  "
            f"{f'{accuracy:.3f}' if accuracy is not None else '-':>12}  "
            f"{str(e['created'] or '-'):<26}{e['status']}"
            + (f"; {e['state']}" if e.get("state", "candidate") != "candidate" else "")
            + (f" [{', '.join(e['labels'])}]" if e.get("labels") else "")
            + (f"; from {' <- '.join(e['lineage'])}" if e["lineage"] else "")
            + _handle(e))
    return "\n".join(lines)
