"""A stack whose HTTPS answers for real without Docker: the Debian haproxy binary serves the stack's
own certificate and haproxy.cfg on loopback, in front of a PhotoPrism stand-in. Flows driven through
the fake engine verify against it as they would against a running stack."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.spec import StackSpec, load_spec
from stackctl.render.haproxy import HaproxyLayout
from tests.helpers import free_port, haproxy_folder_config, native_haproxy, run_cli
from tests.standin import http_standin

DOMAIN = "photos.example.com"


@contextmanager
def live_stack(tmp_path: Path, extra_yaml: str = "") -> Iterator[tuple[StackPaths, StackSpec]]:
    """A single-site stack named `live` with a certificate from its local CA, served on free ports."""
    root = tmp_path / "stack"
    https, http = free_port(), free_port()
    assert run_cli("--dir", str(root), "init", "--domain", DOMAIN).code == 0
    (root / "stack.yaml").write_text(
        f"name: live\ndomain: {DOMAIN}\nports: {{http: {http}, https: {https}, stats: {free_port()}}}\n{extra_yaml}"
    )
    assert run_cli("--dir", str(root), "certs", "create").code == 0
    paths = StackPaths(root)
    spec = load_spec(paths.spec)
    socket_dir = paths.run / "haproxy"  # where the stack's runtime socket is, as in the container's mount
    socket_dir.mkdir(parents=True, mode=0o700)
    app = free_port()
    layout = HaproxyLayout(
        public_bind="127.0.0.1", https_port=https, http_port=http, stats_bind="127.0.0.1", stats_port=free_port(),
        certs_dir=f"{CertStore(paths.certs).bundles}/", socket_path=str(socket_dir / "admin.sock"),
        backend_address=f"127.0.0.1:{app}",
    )  # fmt: skip
    workdir = tmp_path / "haproxy"
    workdir.mkdir()
    with (
        http_standin(app),
        native_haproxy(haproxy_folder_config(spec, layout, workdir), workdir, {"STATS_PASSWORD": "x"}, [https]),
    ):
        yield paths, spec
