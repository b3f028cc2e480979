"""ui/ renderables, rendered to text: pull progress summed over layers, the probe report; and
`status --json` of a stack that is not running."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from stackctl.health.probe import Check, ProbeResult
from stackctl.ui.probe_report import print_probe
from stackctl.ui.progress import PullProgressBar
from tests.helpers import free_port, run_cli


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=100, force_terminal=False), out


def test_pull_progress_sums_the_layers_of_each_image() -> None:
    console, out = _console()
    bar = PullProgressBar(console)
    bar("haproxy:3.2", "layer1", 5_000_000, 10_000_000)
    bar("haproxy:3.2", "layer2", 5_000_000, 10_000_000)
    bar("mariadb:11", "layer1", 1, 2)
    task = bar.tasks["haproxy:3.2"]
    progress = bar.progress
    assert progress is not None
    assert progress.tasks[task].completed == 10_000_000 and progress.tasks[task].total == 20_000_000  # type: ignore[attr-defined,index]
    bar.stop()
    assert "pulling haproxy:3.2" in out.getvalue() and "mariadb:11" in out.getvalue()
    PullProgressBar(console).stop()  # nothing pulled: nothing drawn, nothing raised


def test_probe_report_marks_each_check_and_keeps_details_literal() -> None:
    console, out = _console()
    checks = [Check("certificate", True, "trusted"), Check("status", False, "GET [/api/v1/status] -> 502")]
    result = ProbeResult("https://photos.example.com/", checks)
    print_probe(console, result)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["ok", "certificate", "trusted"]
    assert lines[1].split()[:2] == ["FAIL", "status"] and "[/api/v1/status]" in lines[1]  # not taken as markup


def test_status_json_of_a_stack_that_is_not_running(tmp_path: Path) -> None:
    root = tmp_path / "stack"
    assert run_cli("--dir", str(root), "init", "--domain", "photos.example.com").code == 0
    text = (root / "stack.yaml").read_text()
    for old, new in (("https: 443", f"https: {free_port()}"), ("http: 80 ", f"http: {free_port()} "),
                     ("name: photoprism ", "name: tnotrunning ")):  # fmt: skip
        text = text.replace(old, new, 1)
    (root / "stack.yaml").write_text(text)
    result = run_cli("--dir", str(root), "status", "--json")
    data = json.loads(result.out)
    assert result.code == 1 and not data["healthy"]
    assert data["verdict"].startswith(("down", "degraded")) and data["probe"]["ok"] is False
