"""The proxies compared by `make bench`, all started natively on 127.0.0.1 from Debian packages,
with the same certificate and two worker threads each, in front of the same nginx backend."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stackctl.config.spec import spec_from_data
from stackctl.render.haproxy import DEFAULT_CERT_FILE, HaproxyLayout
from tests.bench.h2load import PROXY_CPUS, pinned
from tests.docker.conftest import DEBIAN_13_HAPROXY, TEST_IMAGES
from tests.helpers import free_port, haproxy_folder_config, self_signed_bundle, wait_for_port, write_default_bundle

NAME = "bench.example.com"
WORKERS = 2
SMALL_BODY = '{"status":"operational"}'

# PhotoPrism's HAProxy guide (the seed of this project), adapted only in ports, paths and backend
# address: bind address/port, the certificate path, the server address and the host name.
SEED_CONFIG = """\
defaults
    log global
    option logasap
    mode http
    timeout connect 30000ms
    timeout client 30000ms
    timeout server 30000ms
    timeout tunnel 120000ms
    timeout queue 5000ms

frontend fe-photoprism
    bind 127.0.0.1:{port} ssl crt {bundle}
    acl sni_photo hdr(host) -i {name}
    use_backend be-photoprism if sni_photo
    default_backend be-photoprism

backend be-photoprism
    retries 3
    option forwardfor
    no option httpclose
    server photo 127.0.0.1:{backend}
"""

NGINX_COMMON = """\
worker_processes {workers};
pid {work}/nginx-{role}.pid;
error_log {work}/nginx-{role}.error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {work}/tmp-{role}-body;
    proxy_temp_path {work}/tmp-{role}-proxy;
    fastcgi_temp_path {work}/tmp-{role}-fastcgi;
    uwsgi_temp_path {work}/tmp-{role}-uwsgi;
    scgi_temp_path {work}/tmp-{role}-scgi;
    keepalive_requests 100000;
{body}
}}
"""

BACKEND = """\
    server {{
        listen 127.0.0.1:{port};
        location = /small {{ default_type application/json; return 200 '{small}'; }}
        location = /api/v1/status {{ default_type application/json; return 200 '{small}'; }}
        location = /1mb {{ root {work}/www; }}
    }}
"""

TLS_NGINX = """\
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers off;
    ssl_session_tickets off;
"""

DIRECT = """\
    server {{
        listen 127.0.0.1:{port} ssl http2;
{tls}
        location = /small {{ default_type application/json; return 200 '{small}'; }}
        location = /1mb {{ root {work}/www; }}
    }}
"""

# nginx as nginx-proxy / Nginx Proxy Manager users run it: http2, HSTS, forwarded headers, keep-alive
# upstream, and an access log per proxied site (both write one; HAProxy's config logs each request too).
NGINX_PROXY = """\
    upstream photoprism {{ server 127.0.0.1:{backend}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port} ssl http2;
        server_name {name};
        access_log {work}/nginx-proxy.access.log;
{tls}
        add_header Strict-Transport-Security "max-age=63072000" always;
        location / {{
            proxy_pass http://photoprism;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_buffering off;
            client_max_body_size 0;
        }}
    }}
"""

CADDYFILE = """\
{{
    admin off
    auto_https off
    default_sni {name}
}}
https://{name}:{port} {{
    bind 127.0.0.1
    tls {cert} {key}
    reverse_proxy 127.0.0.1:{backend}
}}
"""


@dataclass
class Endpoint:
    config: str
    port: int


@dataclass
class Certificate:
    cert: Path
    key: Path
    bundle_dir: Path

    @property
    def bundle(self) -> Path:
        return self.bundle_dir / "site.pem"


def make_certificate(work: Path, key_type: str) -> Certificate:
    """A leaf from a throwaway local CA (the project's own issuer), as every proxy will serve."""
    import datetime as dt

    from stackctl.certs.keys import key_pem
    from stackctl.certs.localca import build_ca, issue_leaf
    from stackctl.certs.store import pem_of

    now = dt.datetime.now(dt.timezone.utc)
    ca, ca_key = build_ca("bench", now)
    leaf, key = issue_leaf(ca, ca_key, (NAME,), key_type, now)
    folder = work / f"cert-{key_type}"
    (folder / "bundle").mkdir(parents=True, exist_ok=True)
    cert = folder / "cert.pem"
    cert.write_bytes(pem_of([leaf]))
    (folder / "key.pem").write_bytes(key_pem(key))
    (folder / "bundle" / "site.pem").write_bytes(pem_of([leaf]) + key_pem(key))
    # The bench's clients send no SNI (an address), so HAProxy serves its first certificate, the stack's
    # default: that is this one here, so that each key type's row measures its own key.
    (folder / "bundle" / DEFAULT_CERT_FILE).write_bytes(pem_of([leaf]) + key_pem(key))
    return Certificate(cert, folder / "key.pem", folder / "bundle")


class Processes:
    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []
        self.containers: list[str] = []  # stopped by name: stopping the docker client leaves them running

    def start(self, argv: list[str], ports: list[int], env: dict[str, str] | None = None) -> None:
        proc = subprocess.Popen(
            pinned(argv, PROXY_CPUS), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        )  # fmt: skip
        self.running.append(proc)
        for port in ports:
            try:
                wait_for_port(port, timeout=15)
            except TimeoutError:
                raise RuntimeError(f"{argv[0]} did not start listening on {port}") from None

    def stop(self) -> None:
        for name in self.containers:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
        for proc in self.running:
            proc.terminate()
        for proc in self.running:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _nginx(procs: Processes, work: Path, role: str, body: str, ports: list[int]) -> None:
    conf = work / f"nginx-{role}.conf"
    conf.write_text(NGINX_COMMON.format(workers=WORKERS, work=work, role=role, body=body))
    procs.start([shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(conf), "-g", "daemon off;"], ports)


# The test images' HAProxy 3.2 (the default image's version) and 3.0 (Debian 13's), on this machine's
# network and pinned to the proxy's CPU as the native processes are: row name suffix -> image.
HAPROXY_IMAGE_ROWS = {"3.2": TEST_IMAGES["haproxy"], "3.0": DEBIAN_13_HAPROXY}


def _haproxy(procs: Processes, work: Path, role: str, text: str, ports: list[int], image: str | None = None) -> None:
    cfg = work / f"haproxy-{role}.cfg"
    cfg.write_text(text)
    if image is None:
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        procs.start([binary, "-W", "-db", "-f", str(cfg)], ports, {"STATS_PASSWORD": "bench"})
        return
    name = f"stackctl-bench-{role}"
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    procs.containers.append(name)
    # Detached, with no log driver: the native rows' log lines go to /dev/null, and a log line that went
    # to an attached `docker run` (or to json-file) would cost dockerd's work per request, measured here
    # alone.
    subprocess.run(
        ["docker", "run", "--detach", "--rm", f"--name={name}", "--network=host", "--user=0",
         f"--cpuset-cpus={PROXY_CPUS}", "--log-driver=none", f"--volume={work}:{work}", "--env=STATS_PASSWORD=bench",
         image, "haproxy", "-W", "-db", "-f", str(cfg)],
        check=True, capture_output=True,
    )  # fmt: skip
    for port in ports:
        wait_for_port(port, timeout=15)


def many_sites_certs(work: Path, certs: Path, count: int) -> Path:
    """A crt folder with the bench name's bundle and `count - 1` other sites' own certificates."""
    folder = work / f"certs-{count}"
    folder.mkdir(exist_ok=True)
    for bundle in certs.iterdir():
        (folder / bundle.name).write_bytes(bundle.read_bytes())
    write_default_bundle(folder)
    for i in range(count - 1):
        (folder / f"site{i:03d}.example.com.pem").write_bytes(self_signed_bundle([f"site{i:03d}.example.com"]))
    return folder


def stackctl_config(work: Path, role: str, port: int, backend: int, certs: Path, sites: int = 1) -> str:
    """stackctl's config for the bench name; with `sites`, in the sites form with that many sites (the
    bench name in the middle of the map), every backend in front of the same nginx."""
    if sites == 1:
        data = {"domain": NAME, "ports": {"https": port}}
    else:
        names = [f"site{i:03d}.example.com" for i in range(sites - 1)]
        names.insert(len(names) // 2, NAME)
        data = {"ports": {"https": port}, "sites": [{"domain": n, "photoprism": {}} for n in names]}
    spec = spec_from_data(data)
    layout = HaproxyLayout(
        public_bind="127.0.0.1", http_port=free_port(), https_port=port, stats_bind="127.0.0.1",
        stats_port=free_port(), certs_dir=f"{certs}/", socket_path=str(work / f"{role}.sock"),
        backend_address=f"127.0.0.1:{backend}",
    )  # fmt: skip
    return haproxy_folder_config(spec, layout, work)


@contextlib.contextmanager
def proxies(work: Path) -> Iterator[tuple[list[Endpoint], dict[str, Endpoint]]]:
    """(proxy rows, TLS rows) endpoints, all running until the block ends."""
    procs = Processes()
    ecdsa, rsa = make_certificate(work, "ecdsa-p256"), make_certificate(work, "rsa-2048")
    (work / "www").mkdir(exist_ok=True)
    (work / "www" / "1mb").write_bytes(os.urandom(1024 * 1024))
    # nginx workers run as an unprivileged user: they must be able to read the 1 MB file.
    for path in (work, work / "www", work / "www" / "1mb"):
        os.chmod(path, 0o755)
    backend, direct, seed, ours, nginx, caddy, ours_rsa, ours_50 = (free_port() for _ in range(8))
    on_images = {f"{cfg}-{version}": free_port() for version in HAPROXY_IMAGE_ROWS for cfg in ("seed", "stackctl")}
    tls = TLS_NGINX.format(cert=ecdsa.cert, key=ecdsa.key)
    try:
        _nginx(procs, work, "backend", BACKEND.format(port=backend, small=SMALL_BODY, work=work), [backend])
        _nginx(procs, work, "direct", DIRECT.format(port=direct, tls=tls, small=SMALL_BODY, work=work), [direct])
        _haproxy(
            procs, work, "seed", SEED_CONFIG.format(port=seed, bundle=ecdsa.bundle, name=NAME, backend=backend), [seed]
        )
        _haproxy(procs, work, "stackctl", stackctl_config(work, "stackctl", ours, backend, ecdsa.bundle_dir), [ours])
        _haproxy(
            procs, work, "stackctl-rsa", stackctl_config(work, "rsa", ours_rsa, backend, rsa.bundle_dir), [ours_rsa]
        )
        for row, port in on_images.items():
            config, version = row.split("-")
            text = (
                SEED_CONFIG.format(port=port, bundle=ecdsa.bundle, name=NAME, backend=backend)
                if config == "seed"
                else stackctl_config(work, row, port, backend, ecdsa.bundle_dir)
            )
            _haproxy(procs, work, row, text, [port], HAPROXY_IMAGE_ROWS[version])
        fifty = many_sites_certs(work, ecdsa.bundle_dir, 50)
        _haproxy(procs, work, "stackctl-50", stackctl_config(work, "fifty", ours_50, backend, fifty, 50), [ours_50])
        _nginx(
            procs,
            work,
            "proxy",
            NGINX_PROXY.format(port=nginx, backend=backend, name=NAME, tls=tls, work=work),
            [nginx],
        )
        caddyfile = work / "Caddyfile"
        caddyfile.write_text(CADDYFILE.format(name=NAME, port=caddy, cert=ecdsa.cert, key=ecdsa.key, backend=backend))
        procs.start(
            [shutil.which("caddy") or "/usr/bin/caddy", "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
            [caddy],
            {"GOMAXPROCS": str(WORKERS), "HOME": str(work), "XDG_DATA_HOME": str(work), "XDG_CONFIG_HOME": str(work)},
        )
        time.sleep(3)  # HAProxy's first health checks mark the backend UP
        rows = [Endpoint("direct", direct), Endpoint("seed", seed), Endpoint("stackctl", ours),
                Endpoint("stackctl-50", ours_50), *(Endpoint(row, port) for row, port in on_images.items()),
                Endpoint("nginx", nginx), Endpoint("caddy", caddy)]  # fmt: skip
        yield rows, {"ecdsa-p256": Endpoint("stackctl", ours), "rsa-2048": Endpoint("stackctl", ours_rsa)}
    finally:
        procs.stop()


def haproxy_start_seconds(work: Path, certs: Path, sites: int, repetitions: int = 3) -> float:
    """Median time from starting HAProxy on stackctl's config with `sites` sites (and as many
    certificates) until its HTTPS port accepts."""
    folder = many_sites_certs(work, certs, sites) if sites > 1 else certs
    times = []
    for _ in range(repetitions):
        port, backend = free_port(), free_port()
        procs = Processes()
        cfg = work / f"haproxy-start-{sites}.cfg"
        cfg.write_text(stackctl_config(work, f"start{sites}", port, backend, folder, sites))
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        started = time.perf_counter()
        try:
            procs.start([binary, "-W", "-db", "-f", str(cfg)], [], {"STATS_PASSWORD": "bench"})
            while True:  # polled every 5 ms: wait_for_port's 50 ms steps would be the resolution
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
                if time.perf_counter() - started > 30:
                    raise RuntimeError(f"haproxy with {sites} sites did not listen within 30s")
                time.sleep(0.005)
            times.append(time.perf_counter() - started)
        finally:
            procs.stop()
    return round(sorted(times)[len(times) // 2], 3)
