"""Writing a version atomically, and cleaning up after writers that died.

A version is written into `.tmp-<version>-<token>/` and renamed to `<version>/`
in one step. While it writes, the exporting process holds an exclusive lock
on `.tmp-<version>-<token>.lock` beside it (which also names its host). The
kernel releases the lock when the process dies, `kill -9` included, so a later
export removes a temporary whose lock it can take: whatever the process ids
(a second container has its own PID namespace and may reuse the first one's
ids). A temporary whose writer ran on another host (a shared filesystem, where
locks may not reach) is removed only once it is older than a day.

On an object store (`gs://`, `s3://`; `ram://` in tests) a directory cannot be
renamed in one step: tf.io.gfile renames it object by object, in no set
order. There the version is published by copying the staged files into
`<version>/` with `saved_model.pb` last, then checking the copy against the
staged files and removing the staging copy. TF Serving's file-system source
loads a version by reading `saved_model.pb`, then the variables it names: a
poll that comes before the last copy finds no SavedModel and tries again
later (`max_num_load_retries`), and one that comes after finds every file in
place. There are no locks on object stores: a temporary there is removed once
it is older than a day, and two writers publishing the same number at the
same instant are not excluded (give each writer its own model directory, or
its own version numbers).
"""

import contextlib
import errno
import os
import shutil
import socket
import time
import uuid

import tensorflow as tf

from tl_keras.io.layout import SAVED_MODEL
from tl_keras.io.layout import files_under
from tl_keras.io.layout import is_local

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; temporaries go by age alone
    fcntl = None

TEMPORARY_PREFIX = ".tmp-"
LOCK_SUFFIX = ".lock"
FOREIGN_AGE_SECONDS = 24 * 3600


class StagedVersion:
    """Where a version is being written (`path`), and the version it lands as
    (`version`, final once the `staged_version` block has ended)."""

    def __init__(self, path, version):
        self.path, self.version = path, version


@contextlib.contextmanager
def staged_version(export_dir, version, *, renumber=None):
    """Yields a `StagedVersion` whose `path`, a temporary directory, receives the
    version; on success renames it to `export_dir/<version>` in one step, on
    failure removes it.

    TF Serving ignores names that are not integers, so it never sees a
    half-written version. Temporaries left by writers that died are removed.
    When another writer took the number meanwhile, a version chosen
    automatically (`renumber` given: a function of the temporary directory
    that returns the next free number, after updating what records it) lands
    under the next free number; a version asked for is never overwritten.
    """
    tf.io.gfile.makedirs(export_dir)
    remove_abandoned_temporaries(export_dir)
    tmp_dir = os.path.join(export_dir, f"{TEMPORARY_PREFIX}{version}-{uuid.uuid4().hex[:12]}")
    staged = StagedVersion(tmp_dir, version)
    local = is_local(export_dir)
    publish = _renamed if local else _copied_pb_last
    with writer_lock(tmp_dir + LOCK_SUFFIX) if local else contextlib.nullcontext():
        try:
            yield staged
            while not publish(tmp_dir, os.path.join(export_dir, str(staged.version))):
                if renumber is None:
                    raise FileExistsError(
                        f"Version {staged.version} appeared in {export_dir} while exporting; "
                        f"it was not overwritten. Received: version={staged.version}")
                staged.version = renumber(tmp_dir)
        finally:
            remove_tree(tmp_dir)


def _renamed(tmp_dir, final_dir):
    """Renames in one step (TF Serving sees all or nothing); False when `final_dir`
    exists: rename refuses a non-empty target, so two writers never both win."""
    if os.path.exists(final_dir):  # local: the atomic rename of a local disk
        return False
    try:
        os.rename(tmp_dir, final_dir)  # local: one step on a local disk
    except OSError as error:
        if error.errno in (errno.EEXIST, errno.ENOTEMPTY):
            return False
        raise
    return True


def _copied_pb_last(tmp_dir, final_dir):
    """Publishes on an object store: copies the staged files into `final_dir`,
    `saved_model.pb` last, and checks the copy; False when `final_dir` exists."""
    gfile = tf.io.gfile
    if gfile.exists(final_dir):
        return False
    files = files_under(tmp_dir)
    files.sort(key=lambda path: os.path.basename(path) == SAVED_MODEL)  # the .pb last
    for source in files:
        target = final_dir + source[len(tmp_dir):]
        gfile.makedirs(os.path.dirname(target))
        gfile.copy(source, target, overwrite=False)
    for source in files:
        target = final_dir + source[len(tmp_dir):]
        if gfile.stat(target).length != gfile.stat(source).length:
            raise OSError(f"The published copy of {source} differs from the staged one; "
                          f"{final_dir} is incomplete. Received: export_dir="
                          f"{os.path.dirname(final_dir)!r}")
    return True


@contextlib.contextmanager
def writer_lock(path):
    """Holds an exclusive lock on `path` (a file naming this host) while the
    block runs, then removes the file."""
    with open(path, "w", encoding="utf-8") as f:  # local: flock needs a local file
        f.write(socket.gethostname())
        f.flush()
        if fcntl is not None:
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            try:
                os.remove(path)  # local: the lock file
            except OSError:
                pass


def remove_abandoned_temporaries(export_dir):
    """Removes the `.tmp-*` directories (and lock files) of writers that died."""
    if not is_local(export_dir):
        _remove_old_remote_temporaries(export_dir)
        return
    for entry in os.listdir(export_dir):  # local: locks and rename are local-only
        if not entry.startswith(TEMPORARY_PREFIX) or entry.endswith(LOCK_SUFFIX):
            continue
        path = os.path.join(export_dir, entry)
        if _abandoned(path):
            shutil.rmtree(path, ignore_errors=True)  # local: the locked branch
            try:
                os.remove(path + LOCK_SUFFIX)  # local: the lock file
            except OSError:
                pass


def _remove_old_remote_temporaries(export_dir):
    """On an object store (no locks): a temporary whose files are all older than a
    day (a writer that died); one whose age is unknown is left alone."""
    gfile = tf.io.gfile
    for entry in gfile.listdir(export_dir):
        entry = entry.rstrip("/")
        if not entry.startswith(TEMPORARY_PREFIX):
            continue
        path = os.path.join(export_dir, entry)
        times = [gfile.stat(file).mtime_nsec for file in files_under(path)]
        if times and min(times) > 0 and time.time() - max(times) / 1e9 > FOREIGN_AGE_SECONDS:
            remove_tree(path)


def remove_tree(path):
    """Removes a directory tree on any filesystem. On object stores a directory
    may exist only as the prefix of its files (never created itself), which
    `rmtree` cannot remove: then the files go one by one."""
    gfile = tf.io.gfile
    if not gfile.exists(path):
        return
    try:
        gfile.rmtree(path)
    except tf.errors.NotFoundError:
        for file in files_under(path):
            gfile.remove(file)


def _abandoned(tmp_dir):
    """Whether no live writer holds `tmp_dir`'s lock (a writer on another host,
    or one without a lock file, counts as live for a day)."""
    try:
        age = time.time() - os.path.getmtime(tmp_dir)  # local: beside its lock
    except OSError:
        return False
    lock_path = tmp_dir + LOCK_SUFFIX
    try:
        f = open(lock_path, "r+", encoding="utf-8")  # local: flock needs a local file
    except OSError:
        return age > FOREIGN_AGE_SECONDS
    with f:
        host = f.read().strip()
        if host != socket.gethostname() or fcntl is None:
            return age > FOREIGN_AGE_SECONDS
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # its writer is alive
        fcntl.flock(f, fcntl.LOCK_UN)
        return True
