"""`tl-keras`: the command line over tl_keras's public API.

    tl-keras bases
    tl-keras train --data DIR --base NAME [--weights imagenet|none|PATH] ...
    tl-keras train-text --data CSV --vectors PATH_OR_HANDLE ...
    tl-keras predict MODEL_DIR IMAGE...
    tl-keras check PATH
    tl-keras models [--root saved_models]
    tl-keras rank --data DIR --bases A,B
    tl-keras to-tfrecord --data DIR --output DIR
    tl-keras cluster DATA --out DIR [--k K]
    tl-keras explore DATA --out DIR [--validation-data DIR]
    tl-keras label-issues DATA --out issues.csv
    tl-keras library list|show|approve|promote|retire|log|serving-config
    tl-keras demo

One module per command group (`train`, `predict`, `inspect`, `data`,
`library`, `explore`), imported when its command runs: `--help` and `--version` import
the parser alone (neither TensorFlow nor Keras), and TensorFlow's C++ log level
is set before TensorFlow loads, so the command's output is ours alone.
"""

import importlib
import os
import sys

from tl_keras.cli.parser import build_parser
from tl_keras.version import __version__

# The command -> (module, function) that runs it.
COMMANDS = {
    "bases": ("inspect", "bases"),
    "check": ("inspect", "check"),
    "cluster": ("explore", "cluster_command"),
    "demo": ("data", "demo"),
    "explore": ("explore", "explore_command"),
    "label-issues": ("explore", "label_issues_command"),
    "library": ("library", "library_command"),
    "models": ("inspect", "models"),
    "predict": ("predict", "predict"),
    "rank": ("inspect", "rank"),
    "to-tfrecord": ("data", "to_tfrecord"),
    "train": ("train", "train"),
    "train-text": ("train", "train_text"),
}


def main(argv=None):
    """Runs `tl-keras`; returns the exit status."""
    args = build_parser(__version__).parse_args(argv)
    if not args.verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow loads
    from tl_keras.errors import DownloadError
    from tl_keras.log import quiet_tensorflow

    if not args.verbose:
        quiet_tensorflow()
    if getattr(args, "strategy", None) == "multi_worker":  # before TensorFlow runs anything
        from tl_keras.training.distribution import multi_worker_strategy

        multi_worker_strategy()
    module, function = COMMANDS[args.command]
    run = getattr(importlib.import_module(f"tl_keras.cli.{module}"), function)
    try:
        return run(args) or 0
    except (ValueError, FileNotFoundError, FileExistsError, DownloadError) as error:
        print(f"tl-keras {args.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `tl-keras ... | head`: the reader left; so do we, quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes
        return 141
    except KeyboardInterrupt:  # Ctrl-C: one line, not Python's traceback
        resume = (" Give --backup-dir DIR to train, and the same command run again "
                  "resumes after the last finished epoch."
                  if args.command in ("train", "train-text") and not getattr(
                      args, "backup_dir", None) else "")
        print(f"tl-keras {args.command}: interrupted; nothing more was written.{resume}",
              file=sys.stderr)
        return 130
