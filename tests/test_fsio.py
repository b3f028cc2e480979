"""The one reader and writer of files: what a person hands stackctl is read with limits, and every
failure is one line that names the file (the bad-input suite drives these through the CLI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stackctl.core.errors import InvalidInput, OperationFailed
from stackctl.core.fsio import atomic_write, ensure_dir, read_user_file, read_user_text, require_regular_file


def test_a_folder_a_fifo_and_a_missing_file_are_refused_by_name(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path, words in ((tmp_path, "is a folder, not a regular file"), (fifo, "not a regular file"),
                        (tmp_path / "nowhere", "no such file")):  # fmt: skip
        with pytest.raises(InvalidInput, match=words) as caught:
            read_user_file(path, 100, "--cert")
        assert caught.value.message.startswith(f"--cert {path}: ")
    with pytest.raises(InvalidInput, match="no such file"):
        require_regular_file(tmp_path / "nowhere", "--list")


def test_a_file_over_the_limit_or_not_utf8_is_refused(tmp_path: Path) -> None:
    big, latin = tmp_path / "big", tmp_path / "latin"
    big.write_bytes(b"x" * 101)
    latin.write_bytes("café".encode("latin-1"))
    with pytest.raises(InvalidInput, match="is 101 bytes, more than the limit of 100"):
        read_user_file(big, 100, "stack.yaml")
    with pytest.raises(InvalidInput, match=r"not UTF-8 text \(byte 3\)"):
        read_user_text(latin, 100, "stack.yaml")


def test_a_file_where_a_folder_must_be_is_one_line_and_nothing_is_written(tmp_path: Path) -> None:
    blocker = tmp_path / "certs"
    blocker.write_text("not a folder")
    with pytest.raises(OperationFailed, match=f"failed to create folder {blocker / 'sites'}"):
        ensure_dir(blocker / "sites")
    with pytest.raises(OperationFailed, match="failed to create folder"):
        atomic_write(blocker / "sites" / "cert.pem", "x")
    assert blocker.read_text() == "not a folder"
