"""The stack as typed services, built once from the spec: compose.yaml serializes this model and the
engine creates containers from it. Paths are as compose writes them (relative to compose/)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from posixpath import normpath
from typing import Final

from stackctl.config.sites import PHOTOPRISM_PORT, Site
from stackctl.config.spec import StackSpec
from stackctl.config.subnets import ipv6_subnet
from stackctl.render.haproxy import CONTAINER_LAYOUT, HAPROXY_CFG

HAPROXY_CONFIG_DIR = CONTAINER_LAYOUT.config_dir
HAPROXY_CONFIG_PATH = f"{HAPROXY_CONFIG_DIR}/{HAPROXY_CFG}"
HAPROXY_SOCKET_DIR = "/var/run/haproxy"
HAPROXY_SOCKET_SOURCE = "../run/haproxy"  # on the host, relative to compose/: the stack folder's run/haproxy
HAPROXY_CERTS_DIR = CONTAINER_LAYOUT.certs_dir.rstrip("/")
NETWORK = "photoprism"
START_ORDER = ("mariadb", "photoprism", "haproxy")
# From PhotoPrism's official docker-compose.yml for MariaDB.
MARIADB_COMMAND = (
    "--innodb-buffer-pool-size=512M",
    "--transaction-isolation=READ-COMMITTED",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_unicode_ci",
    "--max-connections=512",
    "--innodb-rollback-on-timeout=OFF",
    "--innodb-lock-wait-timeout=120",
)
DATABASE_NAME = "photoprism"
DATABASE_USER = "photoprism"
UNCONFINED = ("seccomp:unconfined", "apparmor:unconfined")
# `always`, not `unless-stopped`: Docker counts any signal sent through its kill endpoint (by any tool)
# as a manual stop, after which `unless-stopped` leaves a crashed or rebooted container down for good
# (moby#41302, moby#47792). stackctl stops its stack by removing the containers (`down`).
RESTART_POLICY: Final = "always"


@dataclass(frozen=True)
class PortMapping:
    host_ip: str
    host_port: int
    container_port: int
    protocol: str = "tcp"


@dataclass(frozen=True)
class Mount:
    source: str  # as compose writes it: relative to compose/, or absolute, or ~
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class Healthcheck:
    test: tuple[str, ...]
    interval_s: int
    timeout_s: int
    retries: int
    start_period_s: int


@dataclass(frozen=True)
class ServiceModel:
    name: str
    image: str
    restart: str = RESTART_POLICY
    stop_signal: str | None = None
    stop_grace_period_s: int | None = None
    security_opt: tuple[str, ...] = ()
    working_dir: str | None = None
    command: tuple[str, ...] | None = None
    ports: tuple[PortMapping, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)
    env_files: tuple[str, ...] = ()
    mounts: tuple[Mount, ...] = ()
    healthcheck: Healthcheck | None = None
    depends_on: dict[str, str] = field(default_factory=dict)  # service -> compose condition
    external_networks: tuple[str, ...] = ()  # the user's networks it joins besides the stack's
    # Variables the image reads only when it initializes an empty data folder: a new value changes
    # nothing in a running container (the password then lives in the database itself).
    init_only_env: tuple[str, ...] = ()
    # Env files earlier stackctl versions gave the container: one they made still matches (model.py).
    legacy_env_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class NetworkModel:
    name: str
    subnet: str
    gateway: str
    subnet6: str | None = None  # an IPv6 range too, when HAProxy is published on an IPv6 address

    @property
    def subnets(self) -> tuple[str, ...]:
        return (self.subnet,) if self.subnet6 is None else (self.subnet, self.subnet6)


def container_name(spec: StackSpec, service: str) -> str:
    """Compose's name for a service's first container."""
    return f"{spec.name}-{service}-1"


def network_model(spec: StackSpec) -> NetworkModel:
    subnet = ipaddress.ip_network(spec.network.subnet)
    subnet6 = ipv6_subnet(spec.network.subnet) if spec.ports.ipv6 else None
    return NetworkModel(f"{spec.name}_{NETWORK}", str(subnet), str(next(subnet.hosts())), subnet6)


def trusted_proxy(spec: StackSpec) -> str:
    """PHOTOPRISM_TRUSTED_PROXY: HAProxy's network, each of its ranges."""
    return ",".join(network_model(spec).subnets)


def host_path(path: str) -> str:
    """A stack.yaml path as compose sees it: relative paths are relative to compose/, one level down."""
    if path.startswith(("/", "~")):
        return path
    return normpath(f"../{path}")


def _photoprism_environment(spec: StackSpec, site: Site) -> dict[str, str]:
    assert site.photoprism is not None
    env = {
        "PHOTOPRISM_ADMIN_USER": site.photoprism.admin_user,
        "PHOTOPRISM_AUTH_MODE": "password",
        "PHOTOPRISM_SITE_URL": spec.site_url(site),
        "PHOTOPRISM_DISABLE_TLS": "true",
        "PHOTOPRISM_DEFAULT_TLS": "false",
        "PHOTOPRISM_TRUSTED_PROXY": trusted_proxy(spec),
        "PHOTOPRISM_HTTP_PORT": str(PHOTOPRISM_PORT),
    }
    if spec.database.kind == "mariadb":
        env.update(
            {
                "PHOTOPRISM_DATABASE_DRIVER": "mysql",
                "PHOTOPRISM_DATABASE_SERVER": "mariadb:3306",
                "PHOTOPRISM_DATABASE_NAME": site.database_name,
                "PHOTOPRISM_DATABASE_USER": site.database_name,
            }
        )
    else:
        env["PHOTOPRISM_DATABASE_DRIVER"] = "sqlite"
    env.update(dict(site.photoprism.env))
    return env


def _haproxy(spec: StackSpec, http3: bool, apps: list[ServiceModel]) -> ServiceModel:
    ports, layout = spec.ports, CONTAINER_LAYOUT
    quic = tuple(PortMapping(a, ports.https, layout.https_port, "udp") for a in ports.bind) if http3 else ()
    return ServiceModel(
        name="haproxy",
        image=spec.images.haproxy,
        stop_signal="SIGUSR1",  # graceful: finish open requests, as the official image does
        ports=(
            *(PortMapping(a, ports.http, layout.http_port) for a in ports.bind),
            *(PortMapping(a, ports.https, layout.https_port) for a in ports.bind),
            *quic,
            PortMapping("127.0.0.1", ports.stats, layout.stats_port),
        ),
        # The stats password is a bcrypt hash in haproxy.cfg, so that a reload can change it.
        legacy_env_files=("../secrets/haproxy.env",),
        mounts=(
            Mount("./haproxy", HAPROXY_CONFIG_DIR, read_only=True),
            Mount("../certs/haproxy", HAPROXY_CERTS_DIR, read_only=True),
            Mount(HAPROXY_SOCKET_SOURCE, HAPROXY_SOCKET_DIR),
        ),
        depends_on={app.name: "service_started" for app in apps},
        external_networks=external_networks(spec),
    )


def external_networks(spec: StackSpec) -> tuple[str, ...]:
    """The user's Docker networks HAProxy joins to reach upstreams by name (`upstream.network`)."""
    return tuple(sorted({s.upstream.network for s in spec.sites if s.upstream is not None and s.upstream.network}))


def _photoprism(spec: StackSpec, site: Site) -> ServiceModel:
    pp = site.photoprism
    assert pp is not None and site.service is not None
    mounts = [
        Mount(host_path(pp.originals), "/photoprism/originals"),
        Mount(host_path(pp.storage), "/photoprism/storage"),
    ]
    if pp.import_path:
        mounts.append(Mount(host_path(pp.import_path), "/photoprism/import"))
    return ServiceModel(
        name=site.service,
        image=spec.images.photoprism,
        stop_grace_period_s=10,
        security_opt=UNCONFINED,
        working_dir="/photoprism",
        environment=_photoprism_environment(spec, site),
        env_files=(f"../{site.secrets_file}",),
        mounts=tuple(mounts),
        healthcheck=Healthcheck(("CMD", "photoprism", "status"), 5, 5, 5, 30),
        depends_on={"mariadb": "service_healthy"} if spec.database.kind == "mariadb" else {},
    )


def _mariadb(spec: StackSpec) -> ServiceModel:
    return ServiceModel(
        name="mariadb",
        image=spec.images.mariadb,
        stop_grace_period_s=5,
        security_opt=UNCONFINED,
        command=MARIADB_COMMAND,
        environment={
            "MARIADB_AUTO_UPGRADE": "1",
            "MARIADB_INITDB_SKIP_TZINFO": "1",
            "MARIADB_DATABASE": DATABASE_NAME,
            "MARIADB_USER": DATABASE_USER,
        },
        env_files=("../secrets/mariadb.env",),
        init_only_env=("MARIADB_PASSWORD", "MARIADB_ROOT_PASSWORD"),
        mounts=(Mount(host_path(spec.database.path), "/var/lib/mysql"),),
        healthcheck=Healthcheck(("CMD", "healthcheck.sh", "--connect", "--innodb_initialized"), 3, 5, 10, 30),
    )


def _upstream(site: Site) -> ServiceModel:
    """A container this stack runs for an upstream site; HAProxy checks its health."""
    up = site.upstream
    assert up is not None and up.image is not None and site.service is not None
    return ServiceModel(
        name=site.service,
        image=up.image,
        environment=dict(up.environment),
        env_files=(host_path(up.env_file),) if up.env_file else (),
        mounts=tuple(Mount(host_path(source), target, read_only) for source, target, read_only in up.volumes),
    )


def app_services(spec: StackSpec) -> list[ServiceModel]:
    """One container per site that runs one: its PhotoPrism instance or its upstream container."""
    apps = []
    for site in spec.sites:
        if site.photoprism is not None:
            apps.append(_photoprism(spec, site))
        elif site.service is not None:
            apps.append(_upstream(site))
    return apps


def stack_services(spec: StackSpec, http3: bool = False) -> list[ServiceModel]:
    """The stack's services in start order (each after the ones it depends on); with `http3`, HAProxy
    publishes the HTTPS port on UDP too."""
    apps = app_services(spec)
    services = [*apps, _haproxy(spec, http3, apps)]
    return [_mariadb(spec), *services] if spec.database.kind == "mariadb" else services
