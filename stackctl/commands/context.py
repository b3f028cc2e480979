"""What every command gets: the stack folder, the consoles, flags. Built by the CLI, passed down."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from stackctl.config.layout import StackPaths
from stackctl.flows.edges import Edges

if TYPE_CHECKING:  # rich loads only when a command draws (fast --help and --json)
    from rich.console import Console


@dataclass
class Context:
    paths: StackPaths
    out: TextIO
    err: TextIO
    debug: bool = False
    edges: Edges = field(default_factory=Edges)
    _console: Console | None = None

    @property
    def edge(self) -> Edges:
        """The outside services: the real ones the CLI built, or a test's own."""
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

    def note(self, message: str) -> None:
        """A line for the person on stderr, so that stdout holds only the value asked for."""
        print(message, file=self.err)
