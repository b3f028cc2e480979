"""The probe's checks as lines: ok or FAIL, the check's name, what was seen."""

from __future__ import annotations

from rich.console import Console

from stackctl.health.probe import ProbeResult


def print_probe(console: Console, result: ProbeResult) -> None:
    for check in result.checks:
        mark = "[green]ok[/green]  " if check.ok else "[red]FAIL[/red]"
        console.print(f"  {mark} {check.name:<19}", end="")
        console.print(check.detail, markup=False)
