"""The one writer: atomic file writes with their mode set before the file becomes visible."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from stackctl.errors import OperationFailed

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PUBLIC_FILE_MODE = 0o644


def ensure_dir(path: Path, mode: int = 0o755) -> None:
    """Create `path` (and parents) if missing; a private folder is tightened to `mode` even if it exists."""
    try:
        path.mkdir(mode=mode, parents=True, exist_ok=True)
        if mode == PRIVATE_DIR_MODE:
            os.chmod(path, mode)
    except OSError as e:
        raise OperationFailed(f"failed to create folder {path}: {e.strerror}") from e


def atomic_write(path: Path, data: bytes | str, mode: int = PUBLIC_FILE_MODE) -> None:
    """Write via a temp file in the same folder: fsync, chmod, rename. Readers see old or new, never half."""
    payload = data.encode() if isinstance(data, str) else data
    ensure_dir(path.parent, PRIVATE_DIR_MODE if mode == PRIVATE_FILE_MODE else 0o755)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise OperationFailed(f"failed to write {path}: {e.strerror}") from e
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
        raise OperationFailed(f"failed to write {path}: {e.strerror}") from e


def read_text_if_exists(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise OperationFailed(f"failed to read {path}: {e.strerror}") from e
