"""The README's "From nothing to your photos over HTTPS", read from the README itself and run in order on
the test images; the only change is setting the test images in stack.yaml after `init`. It fails when
the README's commands stop working. What changes the machine outside the stack is checked, not done:
the install (this checkout is installed), the /etc/hosts line (the stack is reached over 127.0.0.1 with
the name as SNI, as that line makes a browser do), and `schedule install`'s /etc (a folder of the
test, with systemctl faked: FakeSystemctl)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import docker

from stackctl.flows.edges import Edges
from stackctl.flows.schedule_host import SchedulerHost
from tests.docker.conftest import TEST_IMAGES, remove_project
from tests.helpers import run_cli
from tests.test_schedule import FakeSystemctl

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## From nothing to your photos over HTTPS"
IMAGES = (
    ('haproxy: "haproxy:3.2"', f'haproxy: "{TEST_IMAGES["haproxy"]}"'),
    ('photoprism: "photoprism/photoprism:latest"', f'photoprism: "{TEST_IMAGES["photoprism"]}"'),
    ('mariadb: "mariadb:11"', f'mariadb: "{TEST_IMAGES["mariadb"]}"'),
)


def first_steps() -> list[str]:
    text = README.read_text()
    section = text[text.index(SECTION) :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the section has no sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_readmes_first_steps_take_a_newcomer_to_a_trusted_photoprism(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    steps = first_steps()
    assert steps[0].startswith("git clone ") and "make -C /opt/stackctl install" in steps[0]
    assert steps[1].startswith("export PATH=") and steps[2].startswith("mkdir -p /srv/photos && cd /srv/photos")
    hosts = next(s for s in steps if "/etc/hosts" in s)
    domain = re.search(r'"127\.0\.0\.1 (\S+)"', hosts)
    assert domain is not None, hosts
    root = tmp_path / "photos"  # for /srv/photos
    root.mkdir()
    scheduler = Edges(scheduler=SchedulerHost(tmp_path / "etc", lambda: True, FakeSystemctl()))
    ran: dict[str, str] = {}
    try:
        for step in steps[3:]:
            if step is hosts:
                continue
            argv = shlex.split(step.removeprefix("sudo "))
            assert argv[0] == "stackctl", f"a README step stackctl cannot run: {step}"
            result = run_cli("--dir", str(root), *argv[1:], edges=scheduler)
            assert result.code == 0, f"{step}: exit {result.code}\n{result.err}\n{result.out}"
            ran[" ".join(argv[1:3])] = result.out
            if argv[1] == "init":  # the one change: the test images
                spec = root / "stack.yaml"
                text = spec.read_text()
                for old, new in IMAGES:
                    assert old in text, old
                    text = text.replace(old, new, 1)
                spec.write_text(text)
        assert f"Ready: https://{domain.group(1)}/" in ran["up"]
        assert "Trust the local CA on this machine: sudo cp " in ran["up"]
        assert "stackctl secrets show admin" in ran["up"]
        assert "Debian/Ubuntu:" in ran["certs ca"]
        password = ran["secrets show"].strip()
        assert len(password) >= 16 and password in (root / "secrets/sites/photos-example-com.env").read_text()
        assert "renew" in ran["schedule status"] and "never run" in ran["schedule status"]
        assert (tmp_path / "etc/systemd/system/stackctl-photoprism-renew.timer").is_file()
    finally:
        run_cli("--dir", str(root), "down")
        remove_project(docker_client, "photoprism")
