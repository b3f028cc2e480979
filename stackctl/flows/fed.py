"""A command in a service's container that is fed secrets on its stdin from a 0600 file in run/
(0700): a password never appears in a command line, an environment or a log."""

from __future__ import annotations

import os
from pathlib import Path

from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec
from stackctl.core.fsio import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, ensure_dir
from stackctl.engines.base import Engine


def run_fed(engine: Engine, paths: StackPaths, spec: StackSpec, service: str, argv: list[str], text: str) -> None:
    ensure_dir(paths.run, PRIVATE_DIR_MODE)
    fed = paths.run / f".stdin-{os.getpid()}"
    fd = os.open(fed, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        engine.run_in(spec, service, argv, stdin=Path(fed))
    finally:
        fed.unlink(missing_ok=True)
