"""Every golden haproxy.cfg passes `haproxy -c` in the HAProxy 3.0 test image too (the native
2.6 binary checks them in test_render.py), and so does the config for an image whose OpenSSL has the
hybrid post-quantum group, with `tls.profile: modern`: the generated config is tested on the versions
users run."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackctl.config.spec import spec_from_data
from stackctl.render import CONTAINER_LAYOUT, render_stack
from stackctl.render.haproxy import EdgeFeatures
from stackctl.render.services import HAPROXY_CONFIG_DIR, HAPROXY_CONFIG_PATH, HAPROXY_SOCKET_DIR
from tests.helpers import IN_CI, self_signed_bundle, write_default_bundle
from tests.specs import EXAMPLES, example

pytestmark = pytest.mark.docker  # `haproxy -c` runs in the test image: `make test-unit` leaves it out

IMAGES = ["stackctl-test/haproxy:3.2", "stackctl-test/haproxy:3.0"]
GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def engine() -> object:
    import docker
    import docker.errors

    try:
        client = docker.from_env(timeout=60)
        client.ping()
        for image in IMAGES:
            client.images.get(image)
    except docker.errors.DockerException as e:
        if IN_CI:
            pytest.fail(f"{IMAGES} are required under CI=true: {e}")
        pytest.skip(f"no engine or no {IMAGES} (make images): {e}")
    return client


def _check(client: object, image: str, folder: Path, certs: Path, sock: Path) -> tuple[int, str]:
    import docker.errors

    try:
        output = client.containers.run(  # type: ignore[attr-defined]
            image,
            ["haproxy", "-c", "-f", HAPROXY_CONFIG_PATH],
            volumes=[f"{folder}:{HAPROXY_CONFIG_DIR}:ro", f"{certs}:{CONTAINER_LAYOUT.certs_dir.rstrip('/')}:ro",
                     f"{sock}:{HAPROXY_SOCKET_DIR}"],
            environment={"STATS_PASSWORD": "test-only"}, network_mode="none", remove=True, stdout=True, stderr=True,
        )  # fmt: skip
        return 0, output.decode(errors="replace")
    except docker.errors.ContainerError as e:
        return int(e.exit_status), (e.stderr or b"").decode(errors="replace")


def _files(name: str) -> dict[str, str]:
    """A golden folder's files; "hybrid-modern": the minimal stack rendered for an OpenSSL with the
    hybrid group, TLS 1.3 only; "dual-stack-http3": the dual-stack example with its QUIC listeners."""
    if name == "hybrid-modern":
        spec = spec_from_data({"domain": "photos.example.com", "network": {"subnet": "10.77.9.0/24"},
                               "tls": {"profile": "modern"}})  # fmt: skip
        rendered = render_stack(spec, None, EdgeFeatures(hybrid_groups=True))
    elif name == "dual-stack-http3":
        rendered = render_stack(example("dual-stack"), None, EdgeFeatures(http3=True, limited_quic=True))
    else:
        return {golden.name: golden.read_text() for golden in (GOLDEN / name).iterdir()}
    return {path.rsplit("/", 1)[1]: text for path, text in rendered.items() if path.startswith("compose/haproxy/")}


@pytest.mark.parametrize("image", IMAGES, ids=lambda image: image.rsplit(":", 1)[1])
@pytest.mark.parametrize("name", [*sorted(EXAMPLES), "http3", "hybrid-modern", "dual-stack-http3"])
def test_golden_config_passes_haproxy_check(engine: object, image: str, name: str, tmp_path: Path) -> None:
    # http3: the minimal stack with its QUIC listener
    spec = example({"http3": "minimal", "hybrid-modern": "minimal", "dual-stack-http3": "dual-stack"}.get(name, name))
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
    for file_name, text in _files(name).items():  # haproxy.cfg and the pages it reads
        (folder / file_name).write_text(text)
        (folder / file_name).chmod(0o644)
    folder.chmod(0o755)
    code, stderr = _check(engine, image, folder, certs, sock)
    assert code == 0, stderr
    warnings = [line for line in stderr.splitlines() if "WARNING" in line]
    assert all("could not resolve address 'photoprism'" in w for w in warnings), warnings


@pytest.mark.parametrize("image", IMAGES, ids=lambda image: image.rsplit(":", 1)[1])
def test_the_check_really_rejects_a_broken_config(engine: object, image: str, tmp_path: Path) -> None:
    folder = tmp_path / "haproxy"
    folder.mkdir(mode=0o755)
    (folder / "haproxy.cfg").write_text("global\n    no-such-directive\n")
    (folder / "haproxy.cfg").chmod(0o644)
    (tmp_path / "certs").mkdir()
    code, stderr = _check(engine, image, folder, tmp_path / "certs", tmp_path)
    assert code != 0 and "no-such-directive" in stderr
