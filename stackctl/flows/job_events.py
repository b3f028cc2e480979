"""What a scheduled job's run says a person should hear about: a failed renewal, a certificate that is due
and was not renewed, a failed backup, an update waiting or rolled back, a stack that is not healthy.
Each problem has a key that stays the same while it lasts (notify.notify_once sends it once)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass, field

from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec
from stackctl.core.clock import utcnow
from stackctl.flows.certificates import certificate_rows
from stackctl.flows.notify import Event
from stackctl.flows.upgrade_log import entries as upgrade_entries

STATUS_TIMEOUT_S = 120
ROLLBACK_NEWS_S = 2 * 86400  # a rollback older than this is no news any more


@dataclass
class Findings:
    current: list[Event] = field(default_factory=list)
    scope: set[str] = field(default_factory=set)  # key prefixes this run judged: the others are kept as they are


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _renewal(paths: StackPaths, spec: StackSpec, ok: bool, errors: list[str], found: Findings) -> None:
    found.scope |= {"renew-failed", "due:"}
    if not ok:
        found.current.append(
            Event(
                "renew-failed",
                "Certificate renewal failed",
                "\n".join(errors),
                "stackctl certs renew (then: stackctl certs show)",
            )
        )
    for row in certificate_rows(paths, spec, None):
        if row.get("due") and row.get("serial") and row.get("in_stack_yaml", True):
            domain = str(row["domain"])
            command = (
                f"stackctl certs import FILE --site {domain}"
                if row.get("source") == "import"
                else f"stackctl certs renew --site {domain}"
            )
            detail = f"It expires on {str(row['not_after'])[:10]} ({row['days_left']} days left): {row['due_reason']}."
            found.current.append(
                Event(
                    f"due:{domain}:{row['serial']}",
                    f"The certificate for {domain} is due and was not renewed",
                    detail,
                    command,
                    domain,
                )
            )


def _upgrades(paths: StackPaths, found: Findings) -> None:
    found.scope |= {"update-waiting:", "rollback:"}
    log = upgrade_entries(paths)
    check = next((e for e in reversed(log) if e.get("event") == "check"), None)
    waiting = sorted(str(s) for s in (check or {}).get("waiting") or [])
    if waiting:
        found.current.append(
            Event(
                f"update-waiting:{','.join(waiting)}",
                f"An update is waiting for {', '.join(waiting)}",
                "Newer images than the ones running were found.",
                "stackctl upgrade",
            )
        )
    rollback = next((e for e in reversed(log) if e.get("event") == "rollback"), None)
    if rollback is not None and _recent(str(rollback.get("time", ""))):
        found.current.append(
            Event(
                f"rollback:{rollback.get('time')}:{rollback.get('service')}",
                f"The upgrade of {rollback.get('service')} was rolled back",
                str(rollback.get("error", "")),
                "stackctl status; stackctl upgrade --check",
            )
        )


def _recent(time: str) -> bool:
    try:
        moment = dt.datetime.strptime(time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return False
    return (utcnow() - moment).total_seconds() < ROLLBACK_NEWS_S


def _health(paths: StackPaths, found: Findings) -> None:
    """`status --json` after the job, in a process of its own: a stack that is not healthy is news."""
    found.scope.add("degraded:")
    argv = [sys.executable, "-m", "stackctl", "--dir", str(paths.root.resolve()), "status", "--json"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=STATUS_TIMEOUT_S)
        verdict = str(json.loads(done.stdout).get("verdict", "")) if done.stdout.strip() else done.stderr.strip()
    except (subprocess.TimeoutExpired, json.JSONDecodeError, OSError) as e:
        done, verdict = None, f"status could not be read: {type(e).__name__}"
    if done is None or done.returncode != 0:
        found.current.append(
            Event(f"degraded:{_digest(verdict)}", "The stack is not healthy", verdict, "stackctl status")
        )


def findings(paths: StackPaths, spec: StackSpec, job: str, ok: bool, errors: list[str]) -> Findings:
    found = Findings()
    if job == "renew":
        _renewal(paths, spec, ok, errors, found)
    elif job == "backup":
        found.scope.add("backup-failed")
        if not ok:
            found.current.append(
                Event(
                    "backup-failed",
                    "The nightly backup failed",
                    "\n".join(errors),
                    "stackctl schedule run backup (then: stackctl schedule status)",
                )
            )
    elif job == "upgrade-check":
        _upgrades(paths, found)
    _health(paths, found)
    return found
