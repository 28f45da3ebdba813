"""Loads a SavedModel where keras, tf_keras, tensorflow_hub and tl_keras cannot be
imported, as TF Serving or a plain TensorFlow user would, and runs signatures.

`check_export` runs this file by its path in a fresh process:

    python keras_free_probe.py VERSION_DIR REQUEST_JSON RESULT_JSON

The request is `{"calls": {signature: {input: [kind, value]}}, "op_packages":
[...]}` (packages whose op libraries to load first, as the model card lists) with kind
`"npy"` (a .npy path), `"bytes_files"` (file paths, sent as bytes),
`"examples"` (image file paths, sent as serialized `tf.Example`s with
`image/encoded`) or `"value"` (a JSON value). The result holds each
signature's inputs, outputs and method, each call's outputs (or its error),
the ops this TensorFlow does not know (`package_ops`: those the packages'
libraries added), and the blocked modules that were
imported anyway (`[]`).

This file imports nothing of tl_keras: it must run where tl_keras is hidden.
"""

import json
import os
import sys

# Run by its path, Python puts this file's directory first on sys.path, where
# its siblings (layout.py, signatures.py, ...) would shadow top-level modules.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

BLOCKED_MODULES = ("keras", "tf_keras", "tensorflow_hub", "tl_keras")


class _Hiding:
    """An import finder that answers "not found" for some top-level modules."""

    def __init__(self, finder, modules):
        self.finder = finder
        self.modules = tuple(modules)

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.modules:
            return None
        find = getattr(self.finder, "find_spec", None)
        return find(name, path, target) if find else None

    def __getattr__(self, attribute):
        return getattr(self.finder, attribute)


def hide_modules(modules):
    """Makes `modules` impossible to import in this process, as if they were not
    installed (those already imported stay)."""
    sys.meta_path[:] = [_Hiding(finder, modules) for finder in sys.meta_path]


def unknown_ops(version_dir):
    """The ops of a SavedModel that this TensorFlow runtime does not know."""
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    # Private (listed in tl_keras/compat.py, pinned in tests/test_compat.py): the
    # only way to ask the running TensorFlow whether it knows an op by name.
    from tensorflow.python.framework import op_def_registry

    proto = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(version_dir + "/saved_model.pb", "rb") as f:
        proto.ParseFromString(f.read())
    ops = set()
    for meta_graph in proto.meta_graphs:
        ops.update(node.op for node in meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            ops.update(node.op for node in function.node_def)
    function_names = {f.signature.name for mg in proto.meta_graphs
                      for f in mg.graph_def.library.function}
    unknown = sorted(op for op in ops
                     if op not in function_names and op_def_registry.get(op) is None)
    methods = {name: sig.method_name for mg in proto.meta_graphs
               for name, sig in mg.signature_def.items() if not name.startswith("__")}
    return unknown, methods


def load_op_libraries(package):
    """Loads the op libraries (`.so`) a package ships, without importing it (as a
    model server linked with them would): tensorflow-text imports Keras."""
    import glob
    import importlib.util

    import tensorflow as tf

    spec = importlib.util.find_spec(package.replace("-", "_"))
    if spec is None or spec.origin is None:
        raise SystemExit(f"the export needs the ops of {package}, which is not installed "
                         f"here: pip install {package}")
    root = os.path.dirname(spec.origin)
    for library in sorted(glob.glob(os.path.join(root, "**", "*.so"), recursive=True)):
        if os.sep + "ops" + os.sep in library:
            tf.load_op_library(library)


def describe_signatures(loaded, methods):
    signatures = {}
    for name, function in loaded.signatures.items():
        inputs = function.structured_input_signature[1]
        signatures[name] = {
            "inputs": {k: [v.dtype.name, v.shape.as_list()] for k, v in inputs.items()},
            "outputs": {k: [v.dtype.name, v.shape.as_list()]
                        for k, v in function.structured_outputs.items()},
            "method": methods.get(name, ""),
        }
    return signatures


def call_arguments(call):
    """The keyword arguments of one signature call, from the request."""
    import numpy as np
    import tensorflow as tf

    kwargs = {}
    for key, (kind, value) in call.items():
        if kind == "npy":
            kwargs[key] = tf.constant(np.load(value))
        elif kind == "bytes_files":
            kwargs[key] = tf.constant([_read(p) for p in value])
        elif kind == "examples":
            examples = []
            for p in value:
                feature = tf.train.Feature(bytes_list=tf.train.BytesList(value=[_read(p)]))
                examples.append(tf.train.Example(features=tf.train.Features(
                    feature={"image/encoded": feature})).SerializeToString())
            kwargs[key] = tf.constant(examples)
        else:
            kwargs[key] = tf.constant(value)
    return kwargs


def _read(path):
    with open(path, "rb") as f:  # local: the request's temporary files
        return f.read()


def _plain(value):
    array = value.numpy()
    if array.dtype == object:
        return [[x.decode() for x in row] for row in array.tolist()]
    return array.tolist()


def main(argv):
    version_dir, request_path, result_path = argv[1:4]
    hide_modules(BLOCKED_MODULES)
    for blocked in BLOCKED_MODULES:
        if blocked in sys.modules:
            raise SystemExit(f"{blocked} was imported before the probe started")
        try:
            __import__(blocked)
        except ImportError:
            pass
        else:
            raise SystemExit(f"{blocked} could still be imported")
    import tensorflow as tf

    with open(request_path) as f:  # local: the request's temporary file
        request = json.load(f)
    unknown, methods = unknown_ops(version_dir)
    package_ops = []
    for package in request.get("op_packages", []):
        load_op_libraries(package)
    if request.get("op_packages"):
        still_unknown, _ = unknown_ops(version_dir)
        package_ops, unknown = sorted(set(unknown) - set(still_unknown)), still_unknown
    loaded = tf.saved_model.load(version_dir)
    outputs = {}
    for name, call in request["calls"].items():
        if name not in loaded.signatures:
            continue
        try:
            result = loaded.signatures[name](**call_arguments(call))
            outputs[name] = {k: _plain(v) for k, v in result.items()}
        except Exception as error:  # reported per signature, as TF Serving would
            outputs[name] = {"error": f"{type(error).__name__}: {str(error)[:300]}"}
    with open(result_path, "w") as f:  # local: the result's temporary file
        json.dump({"signatures": describe_signatures(loaded, methods), "outputs": outputs,
                   "unknown_ops": unknown, "package_ops": package_ops,
                   "imported": sorted(m for m in sys.modules
                                      if m.split(".")[0] in BLOCKED_MODULES)}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
