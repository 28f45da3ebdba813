"""TF Serving's configuration from the library: exactly the approved versions, labelled."""

import os

import tensorflow as tf

from tl_keras.io import layout
from tl_keras.library.governance import library_state

MODELS_CONFIG = "models.config"
BATCHING_FILE = "batching_parameters.txt"
# Defaults for a CPU or a single GPU: small batches, a short wait to fill them.
BATCHING_PARAMETERS = """max_batch_size { value: 32 }
batch_timeout_micros { value: 2000 }
max_enqueued_batches { value: 100 }
num_batch_threads { value: 4 }
pad_variable_length_inputs: true
"""


def serving_config(root="saved_models", *, base_path=None):
    """The library's `ModelServerConfig`, as TF Serving's text format, and what it left out.

    Each model with an approved, unretired version gets one `config`: its
    `base_path`, `model_version_policy { specific { versions: ... } }` of those
    versions, and `version_labels` for the labels that point at them. Models
    without one are left out (TF Serving would otherwise serve their latest
    version, approved or not).

    Args:
        root: the library's root.
        base_path: where TF Serving sees `root` (a mounted path, `gs://...`).
            Defaults to `None`: `root` made absolute.

    Returns:
        `(text, left_out)`: the config, and `{model: why}` for models left out.
    """
    root = os.fspath(root)
    if not tf.io.gfile.isdir(root):
        raise ValueError(f"Expected the library's root directory. Received: root={root!r}")
    served_root = base_path or (os.path.abspath(root) if layout.is_local(root) else root)
    state = library_state(root)
    blocks, left_out = [], {}
    for name in sorted(e.rstrip("/") for e in tf.io.gfile.listdir(root)):
        if name.startswith(".") or not layout.list_versions(os.path.join(root, name)):
            continue
        model = state.get(name, {"labels": {}, "retired": [], "approvals": {}})
        versions = sorted(v for v in model["approvals"] if v not in model["retired"])
        if not versions:
            left_out[name] = "no approved version"
            continue
        labels = {label: v for label, v in sorted(model["labels"].items()) if v in versions}
        lines = ["  config {", f'    name: "{name}"',
                 f'    base_path: "{served_root.rstrip("/")}/{name}"',
                 '    model_platform: "tensorflow"',
                 "    model_version_policy {", "      specific {"]
        lines += [f"        versions: {v}" for v in versions]
        lines += ["      }", "    }"]
        for label, version in labels.items():
            lines += ["    version_labels {", f'      key: "{label}"',
                      f"      value: {version}", "    }"]
        lines.append("  }")
        blocks.append("\n".join(lines))
    text = "model_config_list {\n" + "\n".join(blocks) + ("\n" if blocks else "") + "}\n"
    return text, left_out


def write_serving_config(root="saved_models", *, base_path=None):
    """Writes `ROOT/models.config` and `ROOT/batching_parameters.txt` for

        tensorflow_model_server --model_config_file=ROOT/models.config \\
            --allow_version_labels_for_unavailable_models \\
            --enable_batching --batching_parameters_file=ROOT/batching_parameters.txt

    Args:
        root: the library's root.
        base_path: where TF Serving sees `root`. Defaults to `None`: `root`
            made absolute.

    Returns:
        `(path of models.config, {model: why left out})`.

    Example:

    >>> event = tl_keras.library.approve("saved_models", "flowers", 2, by="ana",
    ...                                  why="test accuracy 0.94")
    >>> path, left_out = tl_keras.library.write_serving_config("saved_models")
    >>> path, left_out
    ('saved_models/models.config', {})
    """
    text, left_out = serving_config(root, base_path=base_path)
    path = os.path.join(os.fspath(root), MODELS_CONFIG)
    layout.write_file(path, text)
    layout.write_file(os.path.join(os.fspath(root), BATCHING_FILE), BATCHING_PARAMETERS)
    return path, left_out
