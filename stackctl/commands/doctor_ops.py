"""stackctl doctor: the implementation (doctor_cmd registers it)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from stackctl.config.spec import load_spec
from stackctl.core.errors import ExitStatus
from stackctl.flows.doctor import doctor
from stackctl.ui.doctor_report import doctor_report

if TYPE_CHECKING:
    from stackctl.commands.context import Context


def run(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    spec = load_spec(ctx.paths.spec)
    diagnoses = doctor(ctx.paths, spec, ctx.edge, args.site, args.upload_size)
    if args.json:
        ctx.out.write(json.dumps({"ok": all(d.ok for d in diagnoses), "sites": [d.as_json() for d in diagnoses]},
                                 indent=2) + "\n")  # fmt: skip
    else:
        ctx.console.print(doctor_report(diagnoses))
    return ExitStatus.OK if all(d.ok for d in diagnoses) else ExitStatus.FAILED
