"""Where a `tl-keras train` run reads and writes: the classes of its data (a folder or
TFRecord shards), its default export directory, and that directory made before the
work."""

import contextlib
import datetime
import os

import tensorflow as tf

from tl_keras.data import tfrecords
from tl_keras.data.image_folder import class_folders


@contextlib.contextmanager
def export_dir_for_the_run(export_dir):
    """Creates the export directory before training, so a directory that cannot be
    written fails in a second, not after the training; removes it again when the
    run ends without an export and it was made for it (and is still empty)."""
    existed = tf.io.gfile.isdir(export_dir)
    try:
        tf.io.gfile.makedirs(export_dir)
        probe = os.path.join(export_dir, ".tl_keras_write_check")
        with tf.io.gfile.GFile(probe, "w") as f:
            f.write("")
        tf.io.gfile.remove(probe)
    except (OSError, tf.errors.OpError) as error:
        raise ValueError(f"Cannot write the export directory {export_dir} "
                         f"({type(error).__name__}: {error}). Pass --export a directory "
                         f"you can write. Received: --export {export_dir}") from None
    try:
        yield
    finally:
        if not existed and tf.io.gfile.isdir(export_dir) and not tf.io.gfile.listdir(
                export_dir):
            tf.io.gfile.rmtree(export_dir)


def data_class_names(data):
    """The classes of a folder of class folders or of TFRecord shards, checked."""
    if tfrecords.is_tfrecord_source(data):
        return tfrecords.shard_class_names(tfrecords.shard_files(data))
    return class_folders(data)


def default_export_dir(data):
    """`saved_models/<data folder>`, or the folder above a `train` folder
    (`pets/train` -> `saved_models/pets`)."""
    if tfrecords.is_tfrecord_source(data) and not tf.io.gfile.isdir(data):  # shards
        data = data.rsplit("/", 1)[0] if "/" in data else "."
    folder = os.path.normpath(os.path.abspath(data)) if "://" not in data else data
    name = folder.rstrip("/").rsplit("/", 1)[-1]
    if name.lower() in ("train", "training") and os.path.basename(os.path.dirname(folder)):
        name = os.path.basename(os.path.dirname(folder))
    return os.path.join("saved_models", os.path.splitext(name)[0])


def check_output_paths(args):
    """Refuses, before any work, an output file that is a directory, a directory
    that is a file, or a file whose folder cannot be made: a run must never train
    for an hour and then fail to write what it was asked for."""
    for flag in ("labels_output", "tflite_output"):
        path = getattr(args, flag, None)
        if not path:
            continue
        shown = f"--{flag.replace('_', '-')} {path}"
        if tf.io.gfile.isdir(path):
            name = "labels.txt" if "labels" in flag else "model.tflite"
            raise ValueError(f"{shown} is a directory: pass a file name (such as "
                             f"{os.path.join(path, name)}). Received: {shown}")
        folder = os.path.dirname(path)
        if folder and tf.io.gfile.exists(folder) and not tf.io.gfile.isdir(folder):
            raise ValueError(f"The folder of {shown} is a file. Received: {shown}")
    summaries = getattr(args, "summaries_dir", None)
    if summaries and tf.io.gfile.exists(summaries) and not tf.io.gfile.isdir(summaries):
        raise ValueError(f"--summaries-dir {summaries} is a file: TensorBoard writes a "
                         f"directory. Received: --summaries-dir {summaries}")


def gate_failed_dir(export_dir):
    """Where a run that failed its gate keeps its curves: `EXPORT/gate-failed-<time>`,
    a name TF Serving ignores (not an integer) and no version ever takes."""
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    return os.path.join(export_dir, f"gate-failed-{stamp}")
