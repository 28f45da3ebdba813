"""Where this process stands in a cluster, and who writes files.

Only the chief writes: with several workers (`TF_CONFIG`), exports and model
cards are written by the chief; the others write into a temporary directory
that is deleted (a SavedModel save is a collective operation in which every
worker takes part), as Keras's multi-worker guide does.
"""

import contextlib
import json
import os
import shutil
import tempfile


def task():
    """`(type, index)` of this worker from `TF_CONFIG`, or None on one machine."""
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task_info = config.get("task")
    if not task_info:
        return None
    return task_info.get("type"), int(task_info.get("index", 0))


def is_chief():
    """Whether this process writes: the only one, the `chief`, or worker 0 of a
    cluster without a chief."""
    current = task()
    if current is None:
        return True
    kind, index = current
    cluster = json.loads(os.environ["TF_CONFIG"]).get("cluster", {})
    if kind == "chief":
        return True
    return kind == "worker" and index == 0 and "chief" not in cluster


@contextlib.contextmanager
def written_by_chief(path):
    """Yields where to write `path`: itself on the chief, else a temporary
    directory that is removed after the block."""
    if is_chief():
        yield path
        return
    directory = tempfile.mkdtemp(prefix="tl_keras_worker_")
    try:
        yield os.path.join(directory, os.path.basename(os.fspath(path)) or "export")
    finally:
        shutil.rmtree(directory, ignore_errors=True)  # local: its own mkdtemp

