"""The argument types of `tl-keras`'s flags: each checks a value at parse time, so a
bad one is refused before any work, in argparse's one-line form."""

import argparse
import codecs


def augmentation_spec(value):
    """An argparse type: an augmentation spec `tl_keras.build_model` takes."""
    from tl_keras.models.heads import augmentation_from_spec  # imports Keras: only when used

    try:
        augmentation_from_spec(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def positive_int(text):
    """An argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected an integer of at least 1. Received: {text!r}")
    return value


def fraction(text):
    """An argparse type: a number in [0, 1] (an accuracy: 0.95, not 95)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(
            f"expected a fraction in [0, 1] (0.95 for 95%). Received: {text!r}")
    return value


def encoding(text):
    """An argparse type: a text encoding Python knows (`utf-8`, `latin-1`, ...)."""
    try:
        return codecs.lookup(text).name
    except LookupError:
        raise argparse.ArgumentTypeError(
            f"expected a text encoding such as utf-8 or latin-1. Received: {text!r}") from None
