"""What tl_keras prints: every line goes through `say`, which `verbose=0` silences."""

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
