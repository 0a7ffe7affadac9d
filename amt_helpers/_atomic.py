"""Safe files: atomic writes (a reader sees the old file or the complete new one, never a
half) and SHA-256 checksums of what was written or fetched.

The content goes to a temporary file in the destination's folder (same file system), is flushed
to disk, and then replaces the destination with :func:`os.replace`, which is atomic on POSIX and
Windows. On any error the temporary file is removed and the destination is left untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

# The process's umask, for the permissions of new files. Reading it means setting it, which is
# not thread-safe, so it is read once, at import.
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` if the block succeeds.

    Parameters
    ----------
    path : str or path-like
        The destination. Its folder must exist.

    Yields
    ------
    Path
        Where the caller writes the complete file. It keeps ``path``'s suffix so that writers
        that choose a format by extension (soundfile, pretty_midi) still work.

    Raises
    ------
    FileNotFoundError
        If the destination's folder does not exist.
    """
    dest = Path(path)
    folder = dest.parent if str(dest.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {dest}: folder {folder} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=dest.suffix, dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates the file private (0600); give it the permissions a plain open() would.
        os.chmod(tmp, 0o666 & ~_UMASK)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
