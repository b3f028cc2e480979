"""What every command gets: the stack folder, the consoles, flags. Built by the CLI, passed down."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from stackctl.config.layout import StackPaths

if TYPE_CHECKING:  # rich and the spec parser load only when a command needs them (fast --help)
    from rich.console import Console

    from stackctl.config.spec import StackSpec
    from stackctl.flows.edges import Edges


@dataclass
class Context:
    paths: StackPaths
    out: TextIO
    err: TextIO
    debug: bool = False
    edges: Edges | None = None
    _console: Console | None = None

    @property
    def edge(self) -> Edges:
        """The outside services (real by default); a test may have passed its own."""
        if self.edges is None:
            from stackctl.flows.edges import Edges

            self.edges = Edges()
        return self.edges

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(file=self.out, soft_wrap=True, highlight=False)
        return self._console

    def say(self, message: str) -> None:
        """A plain line of output, never reinterpreted as markup."""
        self.console.print(message, markup=False)

    def warn(self, message: str) -> None:
        print(f"warning: {message}", file=self.err)

    def load_spec(self) -> StackSpec:
        from stackctl.config.spec import load_spec

        return load_spec(self.paths.spec)
