"""stackctl schedule install | status | remove | run JOB."""

from __future__ import annotations

import argparse

from stackctl.commands import lazy

OPS = "stackctl.commands.schedule_ops"

HELP = """Make the stack look after itself: systemd timers (or /etc/cron.d/stackctl-<name> where systemd
is not PID 1) that renew certificates twice a day when due, check for newer images daily, and back up
every night when stack.yaml's backup: names a folder and a passphrase file. Each run is recorded in
schedule.jsonl; `schedule status` shows the next and the last run of each job."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "schedule", help="install, show or remove the jobs that run by themselves",
        description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    actions = p.add_subparsers(dest="schedule_command", required=True, metavar="{install,status,remove,run}")
    actions.add_parser("install", help="install (or update) the timers or the cron file; needs root").set_defaults(
        handler=lazy(OPS, "run_install")
    )
    s = actions.add_parser("status", help="each job: installed, when, next run, last run and its result")
    s.add_argument("--json", action="store_true", help="machine-readable")
    s.set_defaults(handler=lazy(OPS, "run_status"))
    actions.add_parser("remove", help="remove exactly what install wrote for this stack; needs root").set_defaults(
        handler=lazy(OPS, "run_remove")
    )
    r = actions.add_parser("run", help="run one job now, as its timer does, and record it")
    r.add_argument("job", choices=["renew", "upgrade-check", "backup"])
    r.set_defaults(handler=lazy(OPS, "run_job"))
