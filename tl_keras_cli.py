"""The `tl-keras` command's entry point, outside the `tl_keras` package.

Importing `tl_keras` imports TensorFlow, whose C++ runtime prints its log lines
(device probing, oneDNN notes, "failed call to cuInit" on machines without a
GPU) as it loads, before any code of ours could silence them. This module
sets TensorFlow's log level first (unless `--verbose` is given), then runs
`tl_keras.cli.main`, so the command's output is ours alone. `--help` and
`--version` are answered without importing TensorFlow at all (instantly).
"""

import ast
import importlib.util
import os
import sys

_ANSWERED_BY_THE_PARSER = {"-h", "--help", "--version"}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or _ANSWERED_BY_THE_PARSER & set(argv):
        _parser_alone().parse_args(argv)  # prints the help or version and exits
    if "--verbose" not in argv:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from tl_keras.cli import main as run

    return run(argv)


def _parser_alone():
    """The `tl-keras` parser, from `tl_keras/cli_parser.py` loaded by its path:
    imported as `tl_keras.cli_parser` it would run `tl_keras/__init__.py`, which
    imports TensorFlow (seconds)."""
    package = importlib.util.find_spec("tl_keras").submodule_search_locations[0]
    spec = importlib.util.spec_from_file_location(
        "tl_keras_cli_parser", os.path.join(package, "cli_parser.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with open(os.path.join(package, "version.py"), encoding="utf-8") as f:  # local: the package
        version = next(ast.literal_eval(node.value) for node in ast.parse(f.read()).body
                       if isinstance(node, ast.Assign) and node.targets[0].id == "__version__")
    return module.build_parser(version)


if __name__ == "__main__":
    sys.exit(main())
