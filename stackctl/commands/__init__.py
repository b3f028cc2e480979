"""One module per command group: `register(sub)` adds its arguments; the work is imported lazily so
`stackctl --help` stays fast."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stackctl.commands.context import Context
    from stackctl.core.errors import ExitStatus

Handler = Callable[["Context", argparse.Namespace], "ExitStatus"]


def lazy(module: str, function: str) -> Handler:
    """A handler that imports `module` only when the command actually runs."""

    def handler(ctx: Context, args: argparse.Namespace) -> ExitStatus:
        result: ExitStatus = getattr(importlib.import_module(module), function)(ctx, args)
        return result

    return handler
