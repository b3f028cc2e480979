"""Every golden haproxy.cfg passes `haproxy -c` in the HAProxy 3.0 test image too (the native 2.6
binary checks them in test_render.py): the generated config is tested on the versions users run."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackctl.render import CONTAINER_LAYOUT
from stackctl.render.services import HAPROXY_CONFIG_DIR, HAPROXY_CONFIG_PATH, HAPROXY_SOCKET_DIR
from tests.helpers import IN_CI, self_signed_bundle, write_default_bundle
from tests.specs import EXAMPLES, example

pytestmark = pytest.mark.docker  # `haproxy -c` runs in the test image: `make test-unit` leaves it out

NEWEST_HAPROXY = "stackctl-test/haproxy:3.0"
GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def engine() -> object:
    import docker
    import docker.errors

    try:
        client = docker.from_env(timeout=60)
        client.ping()
        client.images.get(NEWEST_HAPROXY)
    except docker.errors.DockerException as e:
        if IN_CI:
            pytest.fail(f"{NEWEST_HAPROXY} is required under CI=true: {e}")
        pytest.skip(f"no engine or no {NEWEST_HAPROXY} (make images): {e}")
    return client


def _check(client: object, folder: Path, certs: Path, sock: Path) -> tuple[int, str]:
    import docker.errors

    try:
        output = client.containers.run(  # type: ignore[attr-defined]
            NEWEST_HAPROXY,
            ["haproxy", "-c", "-f", HAPROXY_CONFIG_PATH],
            volumes=[f"{folder}:{HAPROXY_CONFIG_DIR}:ro", f"{certs}:{CONTAINER_LAYOUT.certs_dir.rstrip('/')}:ro",
                     f"{sock}:{HAPROXY_SOCKET_DIR}"],
            environment={"STATS_PASSWORD": "test-only"}, network_mode="none", remove=True, stdout=True, stderr=True,
        )  # fmt: skip
        return 0, output.decode(errors="replace")
    except docker.errors.ContainerError as e:
        return int(e.exit_status), (e.stderr or b"").decode(errors="replace")


@pytest.mark.parametrize("name", [*sorted(EXAMPLES), "http3"])
def test_golden_config_passes_haproxy_3_0_check(engine: object, name: str, tmp_path: Path) -> None:
    spec = example("minimal" if name == "http3" else name)  # http3: the minimal stack with its QUIC listener
    certs, sock = tmp_path / "certs", tmp_path / "run"
    certs.mkdir()
    sock.mkdir(mode=0o777)
    sock.chmod(0o777)  # the image's haproxy user (uid 99) writes its socket there
    bundle = certs / f"{spec.first_site.domain}.pem"
    bundle.write_bytes(self_signed_bundle(list(spec.first_site.names)))
    bundle.chmod(0o644)
    write_default_bundle(certs, 0o644)
    folder = tmp_path / "haproxy"
    folder.mkdir()
    for golden in (GOLDEN / name).iterdir():  # haproxy.cfg and the maintenance pages it reads
        (folder / golden.name).write_text(golden.read_text())
        (folder / golden.name).chmod(0o644)
    folder.chmod(0o755)
    code, stderr = _check(engine, folder, certs, sock)
    assert code == 0, stderr
    warnings = [line for line in stderr.splitlines() if "WARNING" in line]
    assert all("could not resolve address 'photoprism'" in w for w in warnings), warnings


def test_the_3_0_check_really_rejects_a_broken_config(engine: object, tmp_path: Path) -> None:
    folder = tmp_path / "haproxy"
    folder.mkdir(mode=0o755)
    (folder / "haproxy.cfg").write_text("global\n    no-such-directive\n")
    (folder / "haproxy.cfg").chmod(0o644)
    (tmp_path / "certs").mkdir()
    code, stderr = _check(engine, folder, tmp_path / "certs", tmp_path)
    assert code != 0 and "no-such-directive" in stderr
