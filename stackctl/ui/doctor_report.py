"""`stackctl doctor`'s report: per site, each check with its outcome, what it saw, and what to change."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from stackctl.health.doctor import Diagnosis

STYLES = {"pass": "green", "fail": "bold red", "skip": "yellow"}


def doctor_report(diagnoses: list[Diagnosis]) -> RenderableType:
    parts: list[RenderableType] = []
    for diagnosis in diagnoses:
        verdict = "every check passes" if diagnosis.ok else "needs attention"
        table = Table(title=f"{diagnosis.domain}: {verdict} (as {diagnosis.caller})", title_justify="left")
        table.add_column("check")
        table.add_column("result")
        table.add_column("what it saw / what to change")
        for finding in diagnosis.findings:
            seen = Text(finding.detail)
            if finding.fix:
                seen.append(f"\n→ {finding.fix}", style="bold")
            table.add_row(finding.check, Text(finding.outcome, style=STYLES[finding.outcome]), seen)
        parts.append(table)
    return Group(*parts)
