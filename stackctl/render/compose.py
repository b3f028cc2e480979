"""compose.yaml for the stack (design.md section 5). Valid for `docker compose` as well as for stackctl."""

from __future__ import annotations

import ipaddress
from posixpath import normpath
from typing import Any

import yaml

from stackctl.config.spec import StackSpec
from stackctl.render.haproxy import CONTAINER_LAYOUT, PHOTOPRISM_PORT
from stackctl.render.header import GENERATED_HEADER

HAPROXY_CONFIG_PATH = "/usr/local/etc/haproxy/haproxy.cfg"
HAPROXY_SOCKET_DIR = "/var/run/haproxy"
NETWORK = "photoprism"
# From PhotoPrism's official docker-compose.yml for MariaDB.
MARIADB_COMMAND = [
    "--innodb-buffer-pool-size=512M",
    "--transaction-isolation=READ-COMMITTED",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_unicode_ci",
    "--max-connections=512",
    "--innodb-rollback-on-timeout=OFF",
    "--innodb-lock-wait-timeout=120",
]
DATABASE_NAME = "photoprism"
DATABASE_USER = "photoprism"


def host_path(path: str) -> str:
    """A stack.yaml path as compose sees it: relative paths are relative to compose/, one level down."""
    if path.startswith(("/", "~")):
        return path
    return normpath(f"../{path}")


def _photoprism_environment(spec: StackSpec) -> dict[str, str]:
    env = {
        "PHOTOPRISM_ADMIN_USER": spec.photoprism.admin_user,
        "PHOTOPRISM_AUTH_MODE": "password",
        "PHOTOPRISM_SITE_URL": spec.site_url,
        "PHOTOPRISM_DISABLE_TLS": "true",
        "PHOTOPRISM_DEFAULT_TLS": "false",
        "PHOTOPRISM_TRUSTED_PROXY": spec.network.subnet,
        "PHOTOPRISM_HTTP_PORT": str(PHOTOPRISM_PORT),
    }
    if spec.database.kind == "mariadb":
        env.update(
            {
                "PHOTOPRISM_DATABASE_DRIVER": "mysql",
                "PHOTOPRISM_DATABASE_SERVER": "mariadb:3306",
                "PHOTOPRISM_DATABASE_NAME": DATABASE_NAME,
                "PHOTOPRISM_DATABASE_USER": DATABASE_USER,
            }
        )
    else:
        env["PHOTOPRISM_DATABASE_DRIVER"] = "sqlite"
    env.update(dict(spec.photoprism.env))
    return env


def _haproxy_service(spec: StackSpec) -> dict[str, Any]:
    ports = spec.ports
    return {
        "image": spec.images.haproxy,
        "restart": "unless-stopped",
        "stop_signal": "SIGUSR1",  # graceful: finish open requests, as the official image does
        "ports": [
            f"{ports.bind}:{ports.http}:{CONTAINER_LAYOUT.http_port}",
            f"{ports.bind}:{ports.https}:{CONTAINER_LAYOUT.https_port}",
            f"127.0.0.1:{ports.stats}:{CONTAINER_LAYOUT.stats_port}",
        ],
        "env_file": ["../secrets/haproxy.env"],
        "volumes": [
            f"./haproxy/haproxy.cfg:{HAPROXY_CONFIG_PATH}:ro",
            f"../certs/haproxy:{CONTAINER_LAYOUT.certs_dir.rstrip('/')}:ro",
            f"../run/haproxy:{HAPROXY_SOCKET_DIR}",
        ],
        "networks": [NETWORK],
        "depends_on": {"photoprism": {"condition": "service_started"}},
    }


def _photoprism_service(spec: StackSpec) -> dict[str, Any]:
    volumes = [
        f"{host_path(spec.photoprism.originals)}:/photoprism/originals",
        f"{host_path(spec.photoprism.storage)}:/photoprism/storage",
    ]
    if spec.photoprism.import_path:
        volumes.append(f"{host_path(spec.photoprism.import_path)}:/photoprism/import")
    service: dict[str, Any] = {
        "image": spec.images.photoprism,
        "restart": "unless-stopped",
        "stop_grace_period": "10s",
        "security_opt": ["seccomp:unconfined", "apparmor:unconfined"],
        "working_dir": "/photoprism",
        "environment": _photoprism_environment(spec),
        "env_file": ["../secrets/photoprism.env"],
        "volumes": volumes,
        "networks": [NETWORK],
        "healthcheck": {
            "test": ["CMD", "photoprism", "status"],
            "interval": "5s",
            "timeout": "5s",
            "retries": 5,
            "start_period": "30s",
        },
    }
    if spec.database.kind == "mariadb":
        service["depends_on"] = {"mariadb": {"condition": "service_healthy"}}
    return service


def _mariadb_service(spec: StackSpec) -> dict[str, Any]:
    return {
        "image": spec.images.mariadb,
        "restart": "unless-stopped",
        "stop_grace_period": "5s",
        "security_opt": ["seccomp:unconfined", "apparmor:unconfined"],
        "command": MARIADB_COMMAND,
        "environment": {
            "MARIADB_AUTO_UPGRADE": "1",
            "MARIADB_INITDB_SKIP_TZINFO": "1",
            "MARIADB_DATABASE": DATABASE_NAME,
            "MARIADB_USER": DATABASE_USER,
        },
        "env_file": ["../secrets/mariadb.env"],
        "volumes": [f"{host_path(spec.database.path)}:/var/lib/mysql"],
        "networks": [NETWORK],
        "healthcheck": {
            "test": ["CMD", "healthcheck.sh", "--connect", "--innodb_initialized"],
            "interval": "3s",
            "timeout": "5s",
            "retries": 10,
            "start_period": "30s",
        },
    }


def compose_model(spec: StackSpec) -> dict[str, Any]:
    """The compose document as data; the engine applies this same model."""
    services: dict[str, Any] = {}
    if spec.database.kind == "mariadb":
        services["mariadb"] = _mariadb_service(spec)
    services["photoprism"] = _photoprism_service(spec)
    services["haproxy"] = _haproxy_service(spec)
    subnet = ipaddress.ip_network(spec.network.subnet)
    return {
        "name": spec.name,
        "services": services,
        "networks": {
            NETWORK: {
                "name": f"{spec.name}_{NETWORK}",
                "driver": "bridge",
                "ipam": {"config": [{"subnet": str(subnet), "gateway": str(next(subnet.hosts()))}]},
            }
        },
    }


def _without_interpolation(value: Any) -> Any:
    """`docker compose` expands `$VAR` and `${VAR}` in every string; `$$` is a literal `$`."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {k: _without_interpolation(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_interpolation(v) for v in value]
    return value


def render_compose(spec: StackSpec) -> str:
    document = _without_interpolation(compose_model(spec))
    body = yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=120)
    return f"# {GENERATED_HEADER}\n{body}"
