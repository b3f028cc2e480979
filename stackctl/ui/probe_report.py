"""The probe's checks as lines: ok or FAIL, the check's name, what was seen."""

from __future__ import annotations

from rich.console import Console

from stackctl.health.probe import ProbeResult


def print_probe(console: Console, result: ProbeResult) -> None:
    for check in result.checks:
        mark = "[green]ok[/green]  " if check.ok else "[red]FAIL[/red]"
        console.print(f"  {mark} {check.name:<19}", end="")
        console.print(check.detail, markup=False)


def print_site_line(console: Console, domain: str, result: ProbeResult) -> None:
    """A site in one line: ok with the number of checks and the serial served, or FAIL and which."""
    if result.ok:
        console.print(f"  [green]ok[/green]   {domain:<32}", end="")
        console.print(f"{len(result.checks)} checks, serving {result.served_serial or '?'}", markup=False)
    else:
        console.print(f"  [red]FAIL[/red] {domain:<32}", end="")
        console.print(", ".join(c.name for c in result.failures()), markup=False)
