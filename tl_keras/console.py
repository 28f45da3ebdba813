"""What tl_keras prints: every line goes through `say`, which `verbose=0` silences."""

import contextlib
import logging
import sys


def say(message, verbose="auto"):
    """Prints one line of tl_keras's own output, unless `verbose` is `0`/`False`.

    Args:
        message: the line to print.
        verbose: the caller's `verbose` argument (`"auto"`, `0`, `1`, `2`,
            `True` or `False`). Defaults to `"auto"`.
    """
    if verbose in (0, False):
        return
    print(message, file=sys.stdout, flush=True)


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
