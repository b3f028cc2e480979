"""On a running stack: `up` ends with what to do next, and the command of every unit that `schedule
install` writes, run by hand, does its job (a renewal check, an upgrade check, an encrypted backup).
systemctl is faked (FakeSystemctl): systemd is not PID 1 where the tests run."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import docker

from stackctl.flows.edges import Edges
from stackctl.flows.schedule_host import SchedulerHost
from tests.docker.conftest import make_stack
from tests.test_schedule import FakeSystemctl

BACKUP = "backup:\n  to: ./nightly\n  passphrase_file: ./backup.pass\n  keep: 2\n"


def _after_ready(out: str) -> list[str]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Ready: "))
    return lines[start + 1 :]


def test_up_says_what_next_and_every_scheduled_job_does_its_work(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    with make_stack(docker_client, tmp_path / "stack", sites_form=True) as stack:
        passphrase = stack.root / "backup.pass"
        passphrase.write_text("a long and private backup passphrase\n")
        passphrase.chmod(0o600)
        (stack.root / "nightly").mkdir(mode=0o700)
        (stack.root / "stack.yaml").write_text((stack.root / "stack.yaml").read_text() + BACKUP)
        steps = _after_ready(stack.up())
        assert len(steps) <= 4, steps  # with "Ready:", at most five lines
        assert (
            steps[0].startswith("Trust the local CA on this machine: sudo cp ") and "update-ca-certificates" in steps[0]
        )
        assert steps[1] == "Log in as admin; the password: stackctl secrets show admin"
        assert steps[2] == "Nothing renews the certificates yet: run stackctl schedule install (as root)"

        edges = Edges(scheduler=SchedulerHost(tmp_path / "etc", lambda: True, FakeSystemctl()))
        code, _, err = stack.cli("schedule", "install", edges=edges)
        assert code == 0, err
        code, out, err = stack.cli("up", "--timeout", "180", edges=edges)
        assert code == 0 and _after_ready(out)[-1] == "Renewal runs by itself (systemd); see: stackctl schedule status"

        for job in ("renew", "upgrade-check", "backup"):
            unit = tmp_path / f"etc/systemd/system/stackctl-{stack.name}-{job}.service"
            line = next(x for x in unit.read_text().splitlines() if x.startswith("ExecStart="))
            done = subprocess.run(shlex.split(line.removeprefix("ExecStart=")), capture_output=True, text=True,
                                  cwd=tmp_path, timeout=600)  # fmt: skip
            assert done.returncode == 0, (job, done.stderr)
        entries = [json.loads(x) for x in (stack.root / "schedule.jsonl").read_text().splitlines()]
        assert [e["job"] for e in entries] == ["renew", "upgrade-check", "backup"]
        assert entries[0]["result"] == "ok" and entries[2]["result"] == "ok", entries
        assert entries[1]["result"] in ("ok", "update waiting"), entries
        archives = list((stack.root / "nightly").iterdir())
        assert len(archives) == 1 and archives[0].stat().st_mode & 0o777 == 0o600, archives
        assert b"PHOTOPRISM_ADMIN_PASSWORD" not in archives[0].read_bytes()  # encrypted with the passphrase
