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
import stat
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
    with atomic_paths(path) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_paths(*paths: str | os.PathLike[str]) -> Iterator[list[Path]]:
    """:func:`atomic_path` for several files that belong together: all are replaced, or none.

    One temporary path per destination is yielded; only when the block has written every one of
    them completely do they replace their destinations. If the block fails, no destination is
    touched. (The replacements themselves are one :func:`os.replace` each, which fails only on
    a file-system error, not for lack of space.)
    """
    dests = [Path(p) for p in paths]
    for dest in dests:
        folder = dest.parent if str(dest.parent) else Path(".")
        if not folder.is_dir():
            raise FileNotFoundError(f"cannot write {dest}: folder {folder} does not exist")
    tmps: list[Path] = []
    try:
        for dest in dests:
            # A short fixed prefix, so that any name the file system accepts for the
            # destination also fits the temporary file.
            fd, tmp_name = tempfile.mkstemp(prefix=".amt-", suffix=dest.suffix, dir=dest.parent)
            os.close(fd)
            tmps.append(Path(tmp_name))
        yield tmps
        for dest, tmp in zip(dests, tmps):
            os.chmod(tmp, _mode_for(dest))
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        for dest, tmp in zip(dests, tmps):
            os.replace(tmp, dest)
    finally:
        for tmp in tmps:
            tmp.unlink(missing_ok=True)


def _mode_for(dest: Path) -> int:
    """The permissions a plain ``open(dest, "w")`` would leave: the existing file's, else 0666 - umask.

    (mkstemp creates its file private, 0600.)
    """
    try:
        return stat.S_IMODE(dest.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_UMASK


def sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
