"""`stackctl schedule install | status | remove | run`: systemd timers (or, where systemd is not PID 1,
/etc/cron.d/stackctl-<name>) that run the stack's jobs, and the record of each run in schedule.jsonl."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec
from stackctl.core.clock import timestamp, utcnow
from stackctl.core.errors import InvalidInput, OperationFailed
from stackctl.core.fsio import MiB, atomic_write, read_user_text
from stackctl.core.journal import append_entry, read_entries
from stackctl.flows.job_events import findings
from stackctl.flows.notify import notify_once
from stackctl.flows.schedule_host import SchedulerHost
from stackctl.flows.schedule_jobs import (
    HEADER,
    Command,
    Job,
    checked_path,
    cron_file,
    jobs,
    minute_of,
    next_run,
    service_unit,
    timer_unit,
    unit_name,
)

UPDATE_WAITING = 100  # upgrade --check's exit code when an update waits: the job did its work
JOB_TIMEOUT_S = 6 * 3600
LAST_LINES = 3  # of a job's error output, kept in schedule.jsonl


def journal(paths: StackPaths) -> Path:
    return paths.root / "schedule.jsonl"


def _command(paths: StackPaths) -> Command:
    return Command(checked_path(Path(sys.executable), "Python"), checked_path(paths.root.resolve(), "the stack folder"))


@dataclass(frozen=True)
class Installed:
    kind: str  # systemd | cron
    files: list[Path]
    timers: list[str]  # the systemd timers enabled


def _wanted_files(host: SchedulerHost, spec: StackSpec, command: Command, systemd: bool) -> dict[Path, str]:
    if not systemd:
        return {host.cron_d / f"stackctl-{spec.name}": cron_file(spec, command)}
    files = {}
    for job in jobs(spec):
        name = unit_name(spec.name, job)
        files[host.units / f"{name}.service"] = service_unit(spec, command, job)
        files[host.units / f"{name}.timer"] = timer_unit(spec, command, job)
    return files


def _ours(path: Path, spec: StackSpec, root: str) -> bool:
    """Whether `path` is this stack's: a file of another folder's stack of the same name is not."""
    if not path.exists() and not path.is_symlink():
        return True
    first = read_user_text(path, MiB, "", f"move {path} away").split("\n", 1)[0]
    return first == HEADER.format(name=spec.name, root=root)


def _installed_files(host: SchedulerHost, spec: StackSpec) -> list[Path]:
    """Every schedule file of a stack of this name, whichever way it was installed."""
    candidates = [host.cron_d / f"stackctl-{spec.name}"]
    if host.units.is_dir():
        candidates += sorted(host.units.glob(f"stackctl-{spec.name}-*.service"))
        candidates += sorted(host.units.glob(f"stackctl-{spec.name}-*.timer"))
    return [p for p in candidates if p.exists() or p.is_symlink()]


def check_backup_target(paths: StackPaths, spec: StackSpec) -> None:
    """`backup.to` is a folder that exists (an unmounted disk must not fill the system disk instead) and
    `backup.passphrase_file` a file."""
    if spec.backup is None:
        return
    folder = paths.root / spec.backup.to
    if not folder.is_dir():
        raise InvalidInput(
            f"backup.to {spec.backup.to} is not a folder",
            f"create it (mkdir -m 700 {folder}) or mount the disk it is on",
        )
    if not (paths.root / spec.backup.passphrase_file).is_file():
        raise InvalidInput(
            f"backup.passphrase_file {spec.backup.passphrase_file} is not a file",
            "write the passphrase into it (install -m 600 /dev/null FILE, then edit it)",
        )


def install(paths: StackPaths, spec: StackSpec, host: SchedulerHost) -> Installed:
    """The stack's jobs, for systemd when it runs this machine, else for cron. Installing again replaces
    what an earlier install wrote (a job `backup:` no longer names goes)."""
    check_backup_target(paths, spec)
    command = _command(paths)
    systemd = host.systemd_running()
    if not systemd and not host.cron_installed():
        raise OperationFailed(
            "neither systemd nor a cron daemon runs jobs on this machine, so nothing scheduled would run",
            "install cron (apt install cron) and run schedule install again",
        )
    wanted = _wanted_files(host, spec, command, systemd)
    for path in [*wanted, *_installed_files(host, spec)]:
        if not _ours(path, spec, command.root):
            raise InvalidInput(
                f"{path} belongs to another stack named {spec.name}",
                "give this stack another name: in stack.yaml (two stacks on one machine need two names)",
            )
    stale = [p for p in _installed_files(host, spec) if p not in wanted]
    _remove(host, spec, stale)
    for path, text in wanted.items():
        try:
            atomic_write(path, text, 0o644)
        except OSError as e:
            raise OperationFailed(
                f"cannot write {path}: {e.strerror}", "schedule install writes to /etc: run it as root (sudo)"
            ) from e
    timers = [p.name for p in wanted if p.suffix == ".timer"]
    if systemd:
        host.systemctl(["daemon-reload"])
        host.systemctl(["enable", "--now", *timers])
    return Installed("systemd" if systemd else "cron", sorted(wanted), timers)


def _remove(host: SchedulerHost, spec: StackSpec, files: list[Path]) -> None:
    timers = [p.name for p in files if p.suffix == ".timer"]
    if timers and host.systemd_running():
        host.systemctl(["disable", "--now", *timers])
    for path in files:
        try:
            path.unlink(missing_ok=True)
        except OSError as e:
            raise OperationFailed(
                f"cannot remove {path}: {e.strerror}", "schedule remove writes to /etc: run it as root (sudo)"
            ) from e
    if timers and host.systemd_running():
        host.systemctl(["daemon-reload"])


def remove(paths: StackPaths, spec: StackSpec, host: SchedulerHost) -> list[Path]:
    """Exactly what install wrote for this stack; another folder's stack of the same name is left alone."""
    root = _command(paths).root
    files = [p for p in _installed_files(host, spec) if _ours(p, spec, root)]
    _remove(host, spec, files)
    return files


@dataclass(frozen=True)
class JobStatus:
    job: Job
    installed: bool
    when: str
    next_run: dt.datetime | None
    last: dict[str, Any] | None  # the job's last line of schedule.jsonl

    def as_json(self) -> dict[str, Any]:
        return {
            "job": self.job.name,
            "what": self.job.what,
            "installed": self.installed,
            "when": self.when,
            "next_run": self.next_run.isoformat(timespec="minutes") if self.next_run else None,
            "last_run": self.last,
        }


def installed_kind(host: SchedulerHost, spec: StackSpec, paths: StackPaths) -> str | None:
    """systemd | cron, when this stack's jobs are installed; None when they are not."""
    root = str(paths.root.resolve())
    files = [p for p in _installed_files(host, spec) if _ours(p, spec, root)]
    if any(p.suffix == ".timer" for p in files):
        return "systemd"
    return "cron" if files else None


def status(paths: StackPaths, spec: StackSpec, host: SchedulerHost) -> list[JobStatus]:
    kind = installed_kind(host, spec, paths)
    minute = minute_of(paths.root.resolve())
    entries = read_entries(journal(paths))
    rows = []
    for job in jobs(spec):
        installed = kind == "cron" or (
            kind == "systemd" and (host.units / f"{unit_name(spec.name, job)}.timer").exists()
        )
        last = next((e for e in reversed(entries) if e.get("job") == job.name), None)
        upcoming = next_run(job, minute, utcnow()) if installed else None
        rows.append(JobStatus(job, installed, job.when(minute, kind != "cron"), upcoming, last))
    return rows


def _run(paths: StackPaths, spec: StackSpec, job: Job) -> tuple[int, str]:
    """(exit code, error output) of the job's stackctl command; a backup target that is not there is a
    failed run like any other (recorded, and notified)."""
    if job.name == "backup":
        try:
            check_backup_target(paths, spec)
        except InvalidInput as e:
            return 2, f"error: {e.message} — {e.hint}\n"
    root = paths.root.resolve()
    argv = [sys.executable, "-m", "stackctl", "--dir", str(root), *job.argv]
    try:
        done = subprocess.run(argv, cwd=root, stderr=subprocess.PIPE, text=True, timeout=JOB_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return 1, f"error: {job.name} did not finish within {JOB_TIMEOUT_S // 3600} h — see its log\n"
    return done.returncode, done.stderr


@dataclass(frozen=True)
class JobRun:
    code: int
    result: str  # ok | update waiting | failed (exit N)
    duration_s: float


def run_job(paths: StackPaths, spec: StackSpec, name: str) -> JobRun:
    """One job as its timer or cron line runs it: stackctl in a process of its own (its output goes where
    the scheduler sends it: the journal, or cron's mail), and its outcome appended to schedule.jsonl."""
    job = next((j for j in jobs(spec) if j.name == name), None)
    if job is None:
        known = ", ".join(j.name for j in jobs(spec))
        raise InvalidInput(f"no scheduled job {name!r} for this stack", f"one of: {known}")
    started = time.monotonic()
    code, errors = _run(paths, spec, job)
    sys.stderr.write(errors)
    waiting = code == UPDATE_WAITING and name == "upgrade-check"
    result = "ok" if code == 0 else "update waiting" if waiting else f"failed (exit {code})"
    duration = round(time.monotonic() - started, 1)
    entry: dict[str, Any] = {"time": timestamp(), "job": name, "result": result, "exit": code, "duration_s": duration}
    last_lines = errors.strip().splitlines()[-LAST_LINES:]
    if result.startswith("failed"):
        entry["error"] = last_lines
    if spec.notify is not None:
        found = findings(paths, spec, name, not result.startswith("failed"), last_lines)
        notified = notify_once(paths, spec, found.current, found.scope)
        entry |= {"notified": notified.sent} if not notified.problems else {"notify_failed": notified.problems}
        for problem in notified.problems:
            sys.stderr.write(f"warning: could not notify: {problem}\n")
    append_entry(journal(paths), entry)
    return JobRun(code, result, duration)
