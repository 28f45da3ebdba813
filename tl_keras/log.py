"""What tl_keras says: every line goes through the `tl_keras` logger.

`say(line, verbose)` logs one line at INFO on `logging.getLogger("tl_keras")`
(`verbose=0` leaves it out). The logger comes with one handler of its own that
prints the bare line to standard output, as tl_keras always has; records also
propagate, so `caplog`, a server's handlers or a notebook's capture see them.

- silence tl_keras: `logging.getLogger("tl_keras").setLevel(logging.WARNING)`;
- route its lines through your own handlers only:
  `logging.getLogger("tl_keras").removeHandler(tl_keras.log.DEFAULT_HANDLER)`.

A user warning goes through `warnings` (shown once per place), not here.
"""

import contextlib
import logging
import os
import sys
import tempfile

LOGGER_NAME = "tl_keras"


class _StandardOutputHandler(logging.StreamHandler):
    """Prints the bare message to the current `sys.stdout` (looked up at each
    line, so a notebook's or a test's replaced stream receives it)."""

    def __init__(self):
        super().__init__(sys.stdout)
        self.setFormatter(logging.Formatter("%(message)s"))

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value):  # logging.StreamHandler sets it; sys.stdout always wins
        pass


DEFAULT_HANDLER = _StandardOutputHandler()
logger = logging.getLogger(LOGGER_NAME)
if not any(isinstance(h, _StandardOutputHandler) for h in logger.handlers):
    logger.addHandler(DEFAULT_HANDLER)
if logger.level == logging.NOTSET:  # INFO unless the application set a level
    logger.setLevel(logging.INFO)


def say(message, verbose="auto"):
    """Logs one line of tl_keras's own output at INFO, unless `verbose` is `0`/`False`.

    Args:
        message: the line.
        verbose: the caller's `verbose` argument (`"auto"`, `0`, `1`, `2`,
            `True` or `False`). Defaults to `"auto"`.
    """
    if verbose in (0, False):
        return
    logger.info(message)


@contextlib.contextmanager
def native_lines_held():
    """Holds what native code (TensorFlow's C++, the TFLite converter's absl
    logging, which `TF_CPP_MIN_LOG_LEVEL` does not reach) writes to standard
    error while the block runs, when TensorFlow's lines were asked away
    (`TF_CPP_MIN_LOG_LEVEL` of 2 or more, as `tl-keras` sets it without
    `--verbose`). When the block fails, what was held is written out after
    all, so no error loses its explanation. Otherwise it does nothing."""
    try:
        quiet = int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0")) >= 2
    except ValueError:
        quiet = False
    if not quiet:
        yield
        return
    stderr = 2  # native code writes to the descriptor, whatever sys.stderr is now
    sys.stderr.flush()
    saved = os.dup(stderr)
    with tempfile.TemporaryFile() as held:  # local: this process's own scratch file
        os.dup2(held.fileno(), stderr)
        try:
            yield
        except BaseException:
            os.dup2(saved, stderr)
            held.seek(0)
            os.write(stderr, held.read())
            raise
        finally:
            os.dup2(saved, stderr)
            os.close(saved)


def quiet_tensorflow():
    """Keeps TensorFlow's Python-side log lines (absl) out of the output; its C++
    log level is set before TensorFlow loads (`TF_CPP_MIN_LOG_LEVEL`)."""
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)


def fit_verbose(verbose):
    """Keras's `verbose` for `fit`: `"auto"` gives progress bars (1) on a terminal or
    in a notebook, and a plain line per epoch (2) when output goes to a file or a
    pipe (CI logs, `nohup`), where a bar becomes one run-on line of escapes."""
    if verbose != "auto":
        return verbose
    return 1 if is_interactive() else 2


def is_interactive():
    """Whether output goes to a terminal or a notebook (a running Jupyter kernel,
    not merely an imported one)."""
    if "IPython" in sys.modules:
        shell = sys.modules["IPython"].get_ipython()
        if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
            return True
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def plural(count, noun):
    """`"1 epoch"`, `"5 epochs"`."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


class _NotRetracing(logging.Filter):
    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


@contextlib.contextmanager
def no_retracing_warnings():
    """Drops TensorFlow's "calls ... triggered tf.function retracing" warning
    while tl_keras trains or predicts. A run compiles several models (the head
    on features, the unfrozen top, the whole model; one per candidate base
    when ranking), each with its own step function, which TensorFlow counts as
    retracing and blames on the caller's loop. Other warnings pass."""
    logger = logging.getLogger("tensorflow")
    quiet = _NotRetracing()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)
