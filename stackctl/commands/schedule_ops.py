"""stackctl schedule: the implementations (schedule_cmd registers the arguments)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from stackctl.config.spec import load_spec
from stackctl.core.errors import ExitStatus
from stackctl.flows import schedule

if TYPE_CHECKING:
    from stackctl.commands.context import Context


def run_install(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    spec = load_spec(ctx.paths.spec)
    installed = schedule.install(ctx.paths, spec, ctx.edge.scheduler)
    for path in installed.files:
        ctx.say(f"wrote {path}")
    if installed.timers:
        ctx.say(f"enabled {', '.join(installed.timers)}")
    ctx.say(f"Scheduled with {installed.kind}; see: stackctl schedule status")
    return ExitStatus.OK


def run_status(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    spec = load_spec(ctx.paths.spec)
    rows = schedule.status(ctx.paths, spec, ctx.edge.scheduler)
    if args.json:
        kind = schedule.installed_kind(ctx.edge.scheduler, spec, ctx.paths)
        ctx.out.write(json.dumps({"scheduler": kind, "jobs": [r.as_json() for r in rows]}, indent=2) + "\n")
        return ExitStatus.OK
    for row in rows:
        state = f"next {row.next_run:%Y-%m-%d %H:%M}" if row.next_run is not None else "not installed"
        last = f"last {row.last['time']}: {row.last['result']}" if row.last else "never run"
        ctx.say(f"{row.job.name:<14} {row.when:<40} {state}; {last}")
    if not any(row.installed for row in rows):
        ctx.say("Nothing is scheduled: run stackctl schedule install (as root)")
    return ExitStatus.OK


def run_remove(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    spec = load_spec(ctx.paths.spec)
    removed = schedule.remove(ctx.paths, spec, ctx.edge.scheduler)
    for path in removed:
        ctx.say(f"removed {path}")
    ctx.say("Nothing was scheduled for this stack." if not removed else "Nothing runs by itself for this stack now.")
    return ExitStatus.OK


def run_job(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    spec = load_spec(ctx.paths.spec)
    done = schedule.run_job(ctx.paths, spec, args.job)
    if done.result in ("ok", "update waiting"):  # a waiting update is news, not a failed unit
        return ExitStatus.OK
    return ExitStatus.INVALID if done.code == ExitStatus.INVALID else ExitStatus.FAILED
