"""Files that were readable at the scan and could not be read later.

A folder is scanned once, before training; its files are read again on every
pass. A file deleted or overwritten in between is dropped from that pass (it
never crashes an epoch), and at the end of the pass this module says how many
were lost and which files changed since the scan.
"""

import os

import tensorflow as tf

from tl_keras.log import say


class ScannedFiles:
    """What the scan saw of each file: its size and modification time.

    Args:
        paths: the files the pipeline reads, in any order.
        directory: the folder they were scanned in (names are reported
            relative to it).
        verbose: the caller's `verbose` (`0` silences the report).
    """

    def __init__(self, paths, directory, verbose="auto"):
        self.directory = directory
        self.verbose = verbose
        self.stats = {str(path): _stat(str(path)) for path in paths}

    def changed(self):
        """`(relative path, what happened)` for each file not as the scan saw it."""
        found = []
        for path, seen in self.stats.items():
            now = _stat(path)
            if now == seen:
                continue
            what = "deleted since the scan" if now is None else "changed since the scan"
            found.append((os.path.relpath(path, self.directory), what))
        return found

    def report(self, read_count, part, *, limit=10):
        """The line said at the end of a pass that read fewer files than scanned."""
        lost = len(self.stats) - read_count
        if lost <= 0:
            return None
        lines = [f"{lost} of {len(self.stats)} {part} images in {self.directory} could "
                 "not be read in this pass and were left out of it (the folder changed "
                 "after it was scanned):"]
        changed = self.changed()
        lines += [f"  {path}: {what}" for path, what in changed[:limit]]
        if len(changed) > limit:
            lines.append(f"  ... and {len(changed) - limit} more")
        return "\n".join(lines)


def _stat(path):
    try:
        stat = tf.io.gfile.stat(path)
    except (OSError, tf.errors.OpError):
        return None
    return stat.length, stat.mtime_nsec


def count_read_files(dataset, scanned, part, image_size):
    """Passes `dataset`'s `(image, label)` elements through, counting them; at
    the end of each pass, reports the files lost since the scan.

    A sentinel element follows the last one; `Dataset.scan` carries the count
    to it, and the sentinel, which is never yielded, says the report.
    """
    height, width = image_size
    sentinel = tf.data.Dataset.from_tensors(
        (tf.zeros((height, width, 3), tf.float32), tf.constant(-1, tf.int32), True))
    counted = dataset.map(lambda image, label: (image, label, False)).concatenate(sentinel)

    def step(count, element):
        image, label, is_end = element
        count = count + tf.cast(tf.logical_not(is_end), tf.int64)
        return count, (image, label, is_end, count)

    def say_at_end(count):
        message = scanned.report(int(count), part)
        if message:
            say(message, scanned.verbose)
        return False

    def keep(image, label, is_end, count):
        return tf.cond(
            is_end,
            lambda: tf.py_function(say_at_end, [count], tf.bool),
            lambda: tf.constant(True))

    counted = counted.scan(tf.constant(0, tf.int64), step).filter(keep)
    return counted.map(lambda image, label, is_end, count: (image, label))
