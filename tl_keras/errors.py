"""Exceptions that tl_keras raises for conditions a user must act on."""


class DownloadError(OSError):
    """A file tl_keras needed could not be downloaded (no network, most often).

    The message names the file and the local path or argument that replaces the
    download.
    """
