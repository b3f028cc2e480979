"""Shared test helpers: free ports, folder hashes, throwaway certificates, native HAProxy."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import http.client
import io
import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from stackctl.certs.keys import key_pem
from stackctl.certs.localca import default_certificate
from stackctl.certs.store import CertStore
from stackctl.cli import main
from stackctl.config.settings import DEFAULT_CERT_FILE
from stackctl.config.spec import StackSpec, load_spec, spec_from_data
from stackctl.flows.edges import Edges
from stackctl.health.probe import Target
from stackctl.health.target import probe_target
from stackctl.render.haproxy import HAPROXY_CFG, HaproxyLayout, render_haproxy_folder
from stackctl.render.stats_password import stats_password_hash

IN_CI = os.environ.get("CI") == "true"


def first_site_target(root: Path, timeout: float = 5.0) -> Target:
    """How `up` and `verify` check the first site of the stack in `root`."""
    spec = load_spec(root / "stack.yaml")
    return probe_target(spec, spec.first_site, CertStore(root / "certs"), timeout=timeout)


def require_tool(name: str) -> str:
    """Path of a binary the test needs. Missing: skip locally, fail under CI (never a silent skip there)."""
    path = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), None)
    if path is None:
        if IN_CI:
            pytest.fail(f"{name} is required under CI=true but is not installed")
        pytest.skip(f"{name} not installed")
    return path


def _ports_below_the_ephemeral_range() -> Iterator[int]:
    """Every port from 20000 up to where the kernel's ephemeral range starts, from a random one on, in
    a cycle. A port from bind(0) is an ephemeral one, which an outgoing connection anywhere on the
    machine (the docker tier makes many) can take before the server under test binds it; a port below
    that range is never handed out that way."""
    first = 20000
    end = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    start = first + secrets.randbelow(end - first)
    return itertools.cycle([*range(start, end), *range(first, start)])


_CANDIDATE_PORTS = _ports_below_the_ephemeral_range()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing is bound to on `host`, never the same one twice in a run (until the range wraps)."""
    while True:
        port = next(_CANDIDATE_PORTS)
        with socket.socket() as s, contextlib.suppress(OSError):
            s.bind((host, port))
            return port


# Folders the running containers write to on their own (MariaDB's redo log, PhotoPrism's cache,
# HAProxy's socket): a stack folder is "as it was" when everything else is.
CONTAINER_DATA = ("database", "storage", "originals", "run")


def hash_tree(root: Path, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Path -> content hash and mode, for every file and folder under root but the top-level `skip`."""
    result = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if rel.split("/", 1)[0] in skip:
            continue
        if path.is_symlink():
            result[rel] = f"symlink to {os.readlink(path)}"
        elif not (path.is_file() or path.is_dir()):
            result[rel] = "special" + oct(path.lstat().st_mode)
        elif path.is_file():
            result[rel] = hashlib.sha256(path.read_bytes()).hexdigest() + oct(path.stat().st_mode)
        else:
            result[rel] = "dir" + oct(path.stat().st_mode)
    return result


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(*argv: str, edges: Edges | None = None) -> CliResult:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err, edges=edges)
    return CliResult(code, out.getvalue(), err.getvalue())


def https_to(address: str, port: int, domain: str, cafile: str, timeout: float = 10.0) -> http.client.HTTPSConnection:
    """HTTPS to `address` as a browser that resolved `domain` to it: SNI and the certificate check are for
    `domain` (an IP address alone gets the stack's default certificate, which no one trusts)."""
    context = ssl.create_default_context(cafile=cafile)
    conn = http.client.HTTPSConnection(domain, port, timeout=timeout, context=context)
    conn.sock = context.wrap_socket(socket.create_connection((address, port), timeout=timeout), server_hostname=domain)
    return conn


def https_json(port: int, domain: str, cafile: str, method: str, path: str) -> tuple[int, dict[str, object]]:
    """(status, JSON body or {}) of one request to the stack on 127.0.0.1."""
    conn = https_to("127.0.0.1", port, domain, cafile)
    try:
        conn.request(method, path, headers={"Host": domain})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    try:
        return response.status, dict(json.loads(body)) if body else {}
    except ValueError:
        return response.status, {}


def write_default_bundle(certs: Path, mode: int = 0o600) -> Path:
    """The stack's own certificate for unknown names, which every rendered haproxy.cfg loads first."""
    leaf, key = default_certificate(dt.datetime.now(dt.timezone.utc))
    path = certs / DEFAULT_CERT_FILE
    path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + key_pem(key))
    path.chmod(mode)
    return path


def self_signed_bundle(names: list[str], days: int = 30) -> bytes:
    """A throwaway certificate + key PEM, for configs that need some certificate to load."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM) + key_pem


def default_sigint() -> None:
    """For a child that must react to Ctrl-C: a shell's background job starts with SIGINT ignored, and
    Python keeps it ignored. Restore the default so the child raises KeyboardInterrupt as in a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Workers:
    """`count` daemon threads running `target` until `stop` is set; started and joined as a block."""

    def __init__(self, count: int, target: Callable[[], None], stop: threading.Event) -> None:
        self.stop = stop
        self.threads = [threading.Thread(target=target, daemon=True) for _ in range(count)]

    def __enter__(self) -> Workers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


def wait_until(predicate: Callable[[], object], timeout: float, what: str, every: float = 0.05) -> None:
    """Poll `predicate` until it is true; fail naming `what` after `timeout` seconds. Never a bare sleep."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def wait_for_port(
    port: int, host: str = "127.0.0.1", timeout: float = 10.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Until something accepts a connection on host:port; TimeoutError after `timeout` seconds, or as
    soon as `process` (the server that should listen there) has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        if process is not None and process.poll() is not None:
            raise TimeoutError(f"nothing listens on {host}:{port}: the server exited with {process.returncode}")
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def haproxy_folder_config(
    spec: StackSpec, layout: HaproxyLayout, folder: Path, acme_thumbprint: str | None = None
) -> str:
    """haproxy.cfg for a native run: the folder's other files (maintenance pages) are written to
    `folder`, and the config points there."""
    files = render_haproxy_folder(spec, dataclasses.replace(layout, config_dir=str(folder)), acme_thumbprint)
    for name, text in files.items():
        if name != HAPROXY_CFG:
            (folder / name).write_text(text)
    return files[HAPROXY_CFG]


def haproxy_command(image: str | None, workdir: Path, env: dict[str, str]) -> tuple[list[str], Callable[[], None]]:
    """How to run haproxy on this machine's loopback: the Debian binary itself (image None), or a test
    image's binary in a container on the host's network that sees `workdir` at the same path. With the
    function that removes that container (the docker client stops, not the container)."""
    if image is None:
        return [require_tool("haproxy")], lambda: None
    name = f"stackctl-native-{secrets.token_hex(4)}"
    flags = [f"--env={key}={value}" for key, value in env.items()]
    argv = ["docker", "run", "--rm", f"--name={name}", "--network=host", "--user=0", f"--volume={workdir}:{workdir}"]
    return [*argv, *flags, image, "haproxy"], lambda: _remove_container(name)


def _remove_container(name: str) -> None:
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


class HaproxyDidNotStart(AssertionError):
    """HAProxy did not listen on a port it was waiting for; the message holds what it printed."""


@contextlib.contextmanager
def native_haproxy(
    cfg_text: str, workdir: Path, env: dict[str, str], wait_ports: list[int], image: str | None = None,
    log: Path | None = None, wait_host: str = "127.0.0.1",
) -> Iterator[None]:  # fmt: skip
    """Run the real haproxy on a config in the foreground, on this machine's loopback; stop it afterwards.
    `image`: the binary of that test image (HAProxy 3.0 or 3.2) instead of Debian's own. `log`: where
    its stdout (the access log) goes. `wait_ports`: on `wait_host`."""
    command, remove = haproxy_command(image, workdir, env)
    cfg = workdir / "haproxy.cfg"
    cfg.write_text(cfg_text)
    sink = log.open("wb") if log is not None else None
    proc = subprocess.Popen(
        [*command, "-W", "-db", "-f", str(cfg)],
        env={**os.environ, **env},
        stdout=sink if sink is not None else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for port in wait_ports:
            try:
                wait_for_port(port, wait_host, process=proc)
            except TimeoutError:
                proc.terminate()
                printed = proc.communicate(timeout=5)[1].decode(errors="replace")
                raise HaproxyDidNotStart(f"haproxy did not listen on {wait_host}:{port}: {printed}") from None
        yield
    finally:
        remove()
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if sink is not None:
            sink.close()


def native_certificates(workdir: Path, names: list[str]) -> tuple[Path, Path]:
    """(certs folder, CA file) for a native HAProxy: one self-signed bundle for `names`, which is also
    the CA a client trusts, and the stack's own default certificate."""
    certs = workdir / "certs"
    certs.mkdir()
    bundle = self_signed_bundle(names)
    (certs / "site.pem").write_bytes(bundle)
    write_default_bundle(certs)
    cafile = workdir / "ca.pem"
    cafile.write_bytes(bundle.split(b"-----END CERTIFICATE-----")[0] + b"-----END CERTIFICATE-----\n")
    return certs, cafile


@dataclass(frozen=True)
class NativeSite:
    """One site's haproxy.cfg served by the native haproxy on `public`, before the in-process stand-in."""

    spec: StackSpec
    public: str
    https: int
    cafile: Path
    sock: Path
    http: int


@contextlib.contextmanager
def native_site(
    workdir: Path, names: list[str], data: dict[str, Any], public: str = "127.0.0.2", image: str | None = None,
    backend: int | None = None, log: Path | None = None,
) -> Iterator[NativeSite]:  # fmt: skip
    """stack.yaml's `data` rendered and run natively on free ports, with one certificate for `names`: the
    single-site form for names[0], or `data`'s sites (every site's app is the one stand-in, or the app
    the caller runs on 127.0.0.1:`backend`). `image`, `log`: see native_haproxy."""
    from tests.standin import http_standin

    certs, cafile = native_certificates(workdir, names)
    sock = workdir / "admin.sock"
    backend_port = backend or free_port()
    https_port, http_port, stats_port = (free_port() for _ in range(3))
    ports = {"http": http_port, "https": https_port, "stats": stats_port}
    spec = spec_from_data({"ports": ports, **({} if "sites" in data else {"domain": names[0]}), **data})
    layout = HaproxyLayout(
        public_bind=public, http_port=http_port, https_port=https_port, stats_bind="127.0.0.1",
        stats_port=stats_port, certs_dir=f"{certs}/", socket_path=str(sock),
        backend_address=f"127.0.0.1:{backend_port}", stats_password_hash=stats_password_hash("native-site"),
    )  # fmt: skip
    with contextlib.nullcontext() if backend else http_standin(backend_port):
        cfg = haproxy_folder_config(spec, layout, workdir)
        with native_haproxy(cfg, workdir, {}, [https_port], image, log, public):
            yield NativeSite(spec, public, https_port, cafile, sock, http_port)


SINGLE_SITE_TEMPLATE = Path(__file__).parent / "data" / "single-site-stack.yaml.in"


def single_site_yaml(domain: str, subnet: str = "172.30.85.0/24") -> str:
    """stack.yaml in the single-site form, as `stackctl init` wrote it before sites: existed."""
    return SINGLE_SITE_TEMPLATE.read_text().format(domain=domain, haproxy="haproxy:3.2", subnet=subnet)
