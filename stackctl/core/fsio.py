"""The one writer: atomic file writes with their mode set before the file becomes visible."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from stackctl.core.errors import InvalidInput, OperationFailed

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PUBLIC_FILE_MODE = 0o644
MiB = 1024 * 1024
_WRITE_HINT = "check free disk space and that you may write to the stack folder"


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):  # fmt: skip
        if test(mode):
            return name
    return "not a regular file"


def read_user_file(path: Path, limit: int, what: str, hint: str = "give a regular file") -> bytes:
    """Read a file a person handed us: regular files only (a FIFO never blocks: it is opened
    non-blocking and refused), at most `limit` bytes. Every failure is one InvalidInput line."""
    label = f"{what} {path}" if what else str(path)
    fd = _open_regular(path, label, hint)
    try:
        info = os.fstat(fd)
        if info.st_size > limit:
            raise InvalidInput(f"{label}: is {info.st_size} bytes, more than the limit of {limit}", hint)
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, 65536):
            size += len(chunk)
            if size > limit:  # the file grew while we read it
                raise InvalidInput(f"{label}: is more than the limit of {limit} bytes", hint)
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as e:
        raise InvalidInput(f"{label}: cannot be read: {e.strerror}", hint) from None
    finally:
        os.close(fd)


def require_regular_file(path: Path, what: str, hint: str = "give a regular file") -> int:
    """Refuse anything but a readable regular file (a FIFO, a folder, a device); returns its size.
    For files read as streams, such as archives, where a size limit does not apply."""
    fd = _open_regular(path, f"{what} {path}" if what else str(path), hint)
    try:
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def _open_regular(path: Path, label: str, hint: str) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InvalidInput(f"{label}: no such file", hint) from None
    except IsADirectoryError:
        raise InvalidInput(f"{label}: is a folder, not a file", hint) from None
    except PermissionError:
        raise InvalidInput(f"{label}: permission denied", "check its owner and mode, or run as its owner") from None
    except OSError as e:
        if e.errno == errno.ENXIO:  # a socket or a FIFO without a writer on some systems
            raise InvalidInput(f"{label}: is not a regular file", hint) from None
        raise InvalidInput(f"{label}: cannot be read: {e.strerror}", hint) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise InvalidInput(f"{label}: is {_file_kind(info.st_mode)}, not a regular file", hint)
    return fd


def read_user_text(path: Path, limit: int, what: str, hint: str = "give a regular file") -> str:
    data = read_user_file(path, limit, what, hint)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidInput(f"{what} {path}: not UTF-8 text (byte {e.start})", "save it as UTF-8") from None


def ensure_dir(path: Path, mode: int = 0o755) -> None:
    """Create `path` (and parents) if missing; a private folder is tightened to `mode` even if it exists."""
    try:
        path.mkdir(mode=mode, parents=True, exist_ok=True)
        if mode == PRIVATE_DIR_MODE:
            os.chmod(path, mode)
    except OSError as e:
        raise OperationFailed(
            f"failed to create folder {path}: {e.strerror}", "check that its parent is a folder you may write to"
        ) from e


def atomic_write(path: Path, data: bytes | str, mode: int = PUBLIC_FILE_MODE) -> None:
    """Write via a temp file in the same folder: fsync, chmod, rename. Readers see old or new, never half."""
    payload = data.encode() if isinstance(data, str) else data
    ensure_dir(path.parent, PRIVATE_DIR_MODE if mode == PRIVATE_FILE_MODE else 0o755)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise OperationFailed(f"failed to write {path}: {e.strerror}", _WRITE_HINT) from e
    try:
        # mkstemp creates the file 0600, so a key is never readable by others, not even briefly.
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise OperationFailed(f"failed to write {path}: {e.strerror}", _WRITE_HINT) from e


def read_text_if_exists(path: Path, limit: int = 16 * MiB) -> str | None:
    """A generated file's text, or None when there is none; read with limits like any other file."""
    if not os.path.lexists(path):
        return None
    return read_user_text(path, limit, "", "move it away; stackctl writes it again")
