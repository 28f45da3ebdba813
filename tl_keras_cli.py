"""The `tl-keras` command's entry point, outside the `tl_keras` package.

Importing `tl_keras` imports TensorFlow, whose C++ runtime prints its log lines
(device probing, oneDNN notes, "failed call to cuInit" on machines without a
GPU) as it loads, before any code of ours could silence them. This module
sets TensorFlow's log level first (unless `--verbose` is given), then runs
`tl_keras.cli.main`, so the command's output is ours alone.
"""

import os
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--verbose" not in argv:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from tl_keras.cli import main as run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
