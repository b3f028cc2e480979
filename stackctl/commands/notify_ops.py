"""stackctl notify test: the implementation (notify_cmd registers it)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from stackctl.config.spec import load_spec
from stackctl.core.errors import ExitStatus, OperationFailed
from stackctl.flows.notify import Event, send

if TYPE_CHECKING:
    from stackctl.commands.context import Context

TEST_EVENT = Event("test", "Test message", "stackctl can reach you this way. Nothing needs doing.", "nothing")


def run_test(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    spec = load_spec(ctx.paths.spec)
    problems = send(ctx.paths, spec, TEST_EVENT)
    if problems:
        raise OperationFailed(
            f"the test message was not delivered: {'; '.join(problems)}", "fix that, then run this again"
        )
    assert spec.notify is not None
    channels = [c for c in (spec.notify.webhook and "the webhook", spec.notify.email) if c]
    ctx.say(f"Sent a test message to {' and '.join(channels)}.")
    return ExitStatus.OK
