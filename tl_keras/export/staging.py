"""Writing a version atomically, and cleaning up after writers that died.

A version is written into `.tmp-<version>-<token>/` and renamed to `<version>/`
in one step. While it writes, the exporting process holds an exclusive lock
on `.tmp-<version>-<token>.lock` beside it (which also names its host). The
kernel releases the lock when the process dies, `kill -9` included, so a later
export removes a temporary whose lock it can take: whatever the process ids
(a second container has its own PID namespace and may reuse the first one's
ids). A temporary whose writer ran on another host (a shared filesystem, where
locks may not reach) is removed only once it is older than a day.
"""

import contextlib
import errno
import os
import shutil
import socket
import time
import uuid

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
    os.makedirs(export_dir, exist_ok=True)
    remove_abandoned_temporaries(export_dir)
    tmp_dir = os.path.join(export_dir, f"{TEMPORARY_PREFIX}{version}-{uuid.uuid4().hex[:12]}")
    staged = StagedVersion(tmp_dir, version)
    with writer_lock(tmp_dir + LOCK_SUFFIX):
        try:
            yield staged
            while not _renamed(tmp_dir, os.path.join(export_dir, str(staged.version))):
                if renumber is None:
                    raise FileExistsError(
                        f"Version {staged.version} appeared in {export_dir} while exporting; "
                        f"it was not overwritten. Received: version={staged.version}")
                staged.version = renumber(tmp_dir)
        finally:
            if os.path.exists(tmp_dir):
                shutil.rmtree(tmp_dir, ignore_errors=True)


def _renamed(tmp_dir, final_dir):
    """Renames in one step (TF Serving sees all or nothing); False when `final_dir`
    exists: rename refuses a non-empty target, so two writers never both win."""
    if os.path.exists(final_dir):
        return False
    try:
        os.rename(tmp_dir, final_dir)
    except OSError as error:
        if error.errno in (errno.EEXIST, errno.ENOTEMPTY):
            return False
        raise
    return True


@contextlib.contextmanager
def writer_lock(path):
    """Holds an exclusive lock on `path` (a file naming this host) while the
    block runs, then removes the file."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(socket.gethostname())
        f.flush()
        if fcntl is not None:
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            try:
                os.remove(path)
            except OSError:
                pass


def remove_abandoned_temporaries(export_dir):
    """Removes the `.tmp-*` directories (and lock files) of writers that died."""
    for entry in os.listdir(export_dir):
        if not entry.startswith(TEMPORARY_PREFIX) or entry.endswith(LOCK_SUFFIX):
            continue
        path = os.path.join(export_dir, entry)
        if _abandoned(path):
            shutil.rmtree(path, ignore_errors=True)
            try:
                os.remove(path + LOCK_SUFFIX)
            except OSError:
                pass


def _abandoned(tmp_dir):
    """Whether no live writer holds `tmp_dir`'s lock (a writer on another host,
    or one without a lock file, counts as live for a day)."""
    try:
        age = time.time() - os.path.getmtime(tmp_dir)
    except OSError:
        return False
    lock_path = tmp_dir + LOCK_SUFFIX
    try:
        f = open(lock_path, "r+", encoding="utf-8")
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
