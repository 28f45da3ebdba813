"""Exceptions that tl_keras raises for conditions a user must act on."""


class DownloadError(OSError):
    """A file tl_keras needed could not be downloaded (no network, most often).

    The message names the file and the local path or argument that replaces the
    download.
    """


class GateError(ValueError):
    """The weights that would ship miss the accuracy an export was gated on
    (`tl_keras.check_gate(report, min_accuracy)`, called before the export, so
    nothing was written).

    The message gives the figure, the threshold and the data it was measured on.
    """
