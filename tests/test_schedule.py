"""`stackctl schedule`: systemd units that systemd-analyze accepts, a cron file that crontab accepts, the
ExecStart of a unit run by hand doing its job, exact removal, two stacks apart; and `secrets show admin`.
systemctl is faked (FakeSystemctl): systemd is not PID 1 where the tests run."""

from __future__ import annotations

import json
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stackctl.flows.edges import Edges
from stackctl.flows.schedule_host import SchedulerHost
from tests.helpers import require_tool, run_cli

DOMAIN = "photos.example.com"


@dataclass
class FakeSystemctl:
    """Records the systemctl commands; what systemd would do with them is systemd's."""

    calls: list[list[str]] = field(default_factory=list)

    def __call__(self, argv: list[str]) -> None:
        self.calls.append(argv)


def _host(etc: Path, systemd: bool) -> tuple[Edges, FakeSystemctl]:
    systemctl = FakeSystemctl()
    return Edges(scheduler=SchedulerHost(etc, lambda: systemd, systemctl)), systemctl


def _stack(root: Path, name: str = "photos", backup: str = "") -> Path:
    assert run_cli("--dir", str(root), "init", "--domain", DOMAIN).code == 0
    (root / "nightly").mkdir()
    (root / "backup.pass").write_text("a long and private backup passphrase\n")
    spec = root / "stack.yaml"
    spec.write_text(spec.read_text().replace("name: photoprism", f"name: {name}", 1) + backup)
    return root


BACKUP = "backup:\n  to: ./nightly\n  passphrase_file: ./backup.pass\n  keep: 3\n"


def _units(etc: Path) -> list[Path]:
    return sorted((etc / "systemd/system").iterdir())


def test_systemd_units_are_accepted_by_systemd_analyze_and_enabled(tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze")
    root = _stack(tmp_path / "stack", backup=BACKUP)
    edges, systemctl = _host(tmp_path / "etc", systemd=True)
    result = run_cli("--dir", str(root), "schedule", "install", edges=edges)
    assert result.code == 0, result.err
    names = [p.name for p in _units(tmp_path / "etc")]
    assert names == [f"stackctl-photos-{job}.{kind}" for job in ("backup", "renew", "upgrade-check")
                     for kind in ("service", "timer")]  # fmt: skip
    checked = subprocess.run([analyze, "verify", *map(str, _units(tmp_path / "etc"))], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    timers = [n for n in names if n.endswith(".timer")]
    assert systemctl.calls[0] == ["daemon-reload"] and systemctl.calls[1][:2] == ["enable", "--now"]
    assert sorted(systemctl.calls[1][2:]) == timers and len(systemctl.calls) == 2
    renew = (tmp_path / "etc/systemd/system/stackctl-photos-renew.timer").read_text()
    assert "OnCalendar=*-*-* 03,15:" in renew and "RandomizedDelaySec=3600" in renew and "Persistent=true" in renew
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in _units(tmp_path / "etc"))


def _exec_start(unit: Path) -> list[str]:
    line = next(line for line in unit.read_text().splitlines() if line.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def test_a_units_command_run_by_hand_does_its_job_and_is_recorded(tmp_path: Path) -> None:
    root = _stack(tmp_path / "stack")
    assert run_cli("--dir", str(root), "certs", "create").code == 0
    edges, _ = _host(tmp_path / "etc", systemd=True)
    assert run_cli("--dir", str(root), "schedule", "install", edges=edges).code == 0
    done = subprocess.run(
        _exec_start(tmp_path / "etc/systemd/system/stackctl-photos-renew.service"), capture_output=True, text=True,
        cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in (root / "schedule.jsonl").read_text().splitlines()]
    assert [(e["job"], e["result"], e["exit"]) for e in entries] == [("renew", "ok", 0)]
    result = run_cli("--dir", str(root), "schedule", "status", "--json", edges=edges)
    rows = {r["job"]: r for r in json.loads(result.out)["jobs"]}
    assert rows["renew"]["last_run"]["result"] == "ok" and rows["renew"]["next_run"] is not None
    assert rows["upgrade-check"]["last_run"] is None and "backup" not in rows  # no backup: in stack.yaml


def test_a_failing_job_is_recorded_with_its_error_and_exits_non_zero(tmp_path: Path) -> None:
    root = _stack(tmp_path / "stack")
    (root / "stack.yaml").write_text((root / "stack.yaml").read_text().replace("source: local-ca", "source: import"))
    result = run_cli("--dir", str(root), "schedule", "run", "renew")
    assert result.code == 2, result.err
    entry = json.loads((root / "schedule.jsonl").read_text())
    assert entry["result"] == "failed (exit 2)" and "no imported certificate yet" in " ".join(entry["error"])


def test_without_systemd_a_cron_file_that_crontab_accepts(tmp_path: Path) -> None:
    crontab = require_tool("crontab")
    root = _stack(tmp_path / "stack", backup=BACKUP)
    edges, systemctl = _host(tmp_path / "etc", systemd=False)
    result = run_cli("--dir", str(root), "schedule", "install", edges=edges)
    assert result.code == 0 and "Scheduled with cron" in result.out, result.err
    cron = tmp_path / "etc/cron.d/stackctl-photos"
    lines = cron.read_text().splitlines()
    jobs = [line for line in lines if line[:1].isdigit()]
    assert len(jobs) == 3 and all(" root cd " in line for line in jobs) and systemctl.calls == []
    # crontab checks a user's table, which has no user field: the same lines without it.
    table = tmp_path / "table"
    table.write_text("\n".join(" ".join(p for i, p in enumerate(line.split(" ")) if i != 5) if line[:1].isdigit()
                               else line for line in lines) + "\n")  # fmt: skip
    try:
        checked = subprocess.run([crontab, "-u", "nobody", str(table)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
    finally:
        subprocess.run([crontab, "-u", "nobody", "-r"], capture_output=True)
    table.write_text("61 3 * * * true\n")  # the check can fail
    assert subprocess.run([crontab, "-u", "nobody", str(table)], capture_output=True).returncode != 0
    status = run_cli("--dir", str(root), "schedule", "status", edges=edges)
    assert "renew" in status.out and "twice a day at 03:" in status.out and "never run" in status.out


@pytest.mark.parametrize("systemd", [True, False])
def test_remove_takes_exactly_what_install_wrote(tmp_path: Path, systemd: bool) -> None:
    root = _stack(tmp_path / "stack", backup=BACKUP)
    etc = tmp_path / "etc"
    (etc / "systemd/system").mkdir(parents=True)
    (etc / "cron.d").mkdir()
    others = [etc / "systemd/system/ssh.service", etc / "cron.d/e2scrub_all", etc / "cron.d/stackctl-photos2"]
    for path in others:
        path.write_text("# not ours\n")
    edges, systemctl = _host(etc, systemd)
    assert run_cli("--dir", str(root), "schedule", "install", edges=edges).code == 0
    result = run_cli("--dir", str(root), "schedule", "remove", edges=edges)
    assert result.code == 0 and result.out.count("removed ") == (6 if systemd else 1), result.out
    assert sorted(p for p in etc.rglob("*") if p.is_file()) == sorted(others)
    if systemd:
        assert systemctl.calls[-2][:2] == ["disable", "--now"] and systemctl.calls[-1] == ["daemon-reload"]
    status = run_cli("--dir", str(root), "schedule", "status", edges=edges)
    assert "Nothing is scheduled" in status.out


def test_two_stacks_get_their_own_units_and_a_same_named_one_is_refused(tmp_path: Path) -> None:
    edges, _ = _host(tmp_path / "etc", systemd=True)
    first, second = _stack(tmp_path / "a", "photos"), _stack(tmp_path / "b", "family")
    for root in (first, second):
        assert run_cli("--dir", str(root), "schedule", "install", edges=edges).code == 0
    names = [p.name for p in _units(tmp_path / "etc")]
    assert len(names) == 8 and sum(n.startswith("stackctl-family-") for n in names) == 4
    before = {p: p.read_text() for p in _units(tmp_path / "etc")}
    clash = _stack(tmp_path / "c", "photos")
    result = run_cli("--dir", str(clash), "schedule", "install", edges=edges)
    assert result.code == 2 and "belongs to another stack named photos" in result.err, result.err
    assert {p: p.read_text() for p in _units(tmp_path / "etc")} == before
    assert run_cli("--dir", str(clash), "schedule", "remove", edges=edges).code == 0  # leaves the other's alone
    assert {p: p.read_text() for p in _units(tmp_path / "etc")} == before


def test_a_backup_folder_that_is_not_there_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    root = _stack(tmp_path / "stack", backup=BACKUP.replace("./nightly", "/mnt/not-mounted-here"))
    edges, systemctl = _host(tmp_path / "etc", systemd=True)
    result = run_cli("--dir", str(root), "schedule", "install", edges=edges)
    assert result.code == 2 and "backup.to /mnt/not-mounted-here is not a folder" in result.err, result.err
    assert "mount the disk" in result.err and not (tmp_path / "etc").exists() and systemctl.calls == []
    ran = run_cli("--dir", str(root), "schedule", "run", "backup")
    entry = json.loads((root / "schedule.jsonl").read_text())  # a failed run: recorded (and notified)
    assert ran.code == 2 and entry["result"] == "failed (exit 2)" and "is not a folder" in entry["error"][0]


def test_a_machine_without_systemd_or_cron_is_refused_rather_than_left_with_a_file_nothing_reads(
    tmp_path: Path,
) -> None:
    root = _stack(tmp_path / "stack")
    edges = Edges(scheduler=SchedulerHost(tmp_path / "etc", lambda: False, FakeSystemctl(), lambda: False))
    result = run_cli("--dir", str(root), "schedule", "install", edges=edges)
    assert result.code == 1 and "nothing scheduled would run" in result.err and "apt install cron" in result.err
    assert not (tmp_path / "etc").exists()


def test_a_stack_folder_a_unit_cannot_carry_is_refused(tmp_path: Path) -> None:
    root = _stack(tmp_path / "100%")
    edges, _ = _host(tmp_path / "etc", systemd=True)
    result = run_cli("--dir", str(root), "schedule", "install", edges=edges)
    assert result.code == 2 and "cannot carry" in result.err and " — " in result.err, result.err
    assert not (tmp_path / "etc").exists()


def test_secrets_show_admin_prints_the_one_password_asked_for(tmp_path: Path) -> None:
    root = _stack(tmp_path / "stack")
    result = run_cli("--dir", str(root), "secrets", "show", "admin")
    (site_file,) = (root / "secrets/sites").glob("*.env")
    stored = dict(line.split("=", 1) for line in site_file.read_text().splitlines() if "=" in line)
    assert result.code == 0 and result.out == stored["PHOTOPRISM_ADMIN_PASSWORD"] + "\n"
    assert "admin user is admin" in result.err and stored["PHOTOPRISM_DATABASE_PASSWORD"] not in result.out + result.err
    assert run_cli("--dir", str(root), "sites", "add", "bob.example.com").code == 0
    several = run_cli("--dir", str(root), "secrets", "show", "admin")
    assert several.code == 2 and "has 2 PhotoPrism sites" in several.err and several.out == ""
    bob = run_cli("--dir", str(root), "secrets", "show", "admin", "--site", "bob.example.com")
    assert bob.code == 0 and len(bob.out.strip()) >= 16 and bob.out != result.out


def test_a_swarm_stack_with_two_photoprism_sites_gets_the_same_jobs_and_its_renewal_runs(tmp_path: Path) -> None:
    root = _stack(tmp_path / "stack")
    (root / "stack.yaml").write_text((root / "stack.yaml").read_text() + "engine: swarm\n")
    assert run_cli("--dir", str(root), "sites", "add", "bob.example.com").code == 0
    assert run_cli("--dir", str(root), "certs", "create").code == 0
    edges, _ = _host(tmp_path / "etc", systemd=True)
    assert run_cli("--dir", str(root), "schedule", "install", edges=edges).code == 0
    assert [p.name for p in _units(tmp_path / "etc")] == [
        f"stackctl-photos-{job}.{kind}" for job in ("renew", "upgrade-check") for kind in ("service", "timer")
    ]
    done = subprocess.run(
        _exec_start(tmp_path / "etc/systemd/system/stackctl-photos-renew.service"), capture_output=True, text=True,
        cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr  # both sites' certificates: not due, nothing to hand over
    assert json.loads((root / "schedule.jsonl").read_text())["result"] == "ok"
    for domain in (DOMAIN, "bob.example.com"):
        shown = run_cli("--dir", str(root), "secrets", "show", "admin", "--site", domain)
        assert shown.code == 0 and len(shown.out.strip()) >= 16
