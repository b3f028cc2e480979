"""The stack as Docker Swarm services (`engine: swarm`), derived from the same typed service model:
passwords and TLS bundles become secrets read through `*_FILE` variables, HAProxy's folder becomes
configs, and each service gets its placement, update and rollback policy. Pure: names that carry a
content hash are computed by the caller and passed in."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Literal

from stackctl.config.settings import DEFAULT_CERT_FILE
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.render.haproxy import CONTAINER_LAYOUT, HaproxyLayout
from stackctl.render.services import (
    HAPROXY_CONFIG_DIR,
    HAPROXY_SOCKET_DIR,
    ServiceModel,
    stack_services,
)

EDGE_LABEL = "stackctl.edge"  # nodes that run HAProxy and publish 80/443
DATA_LABEL = "stackctl.data"  # the node that holds PhotoPrism's and MariaDB's folders
EDGE_CONSTRAINT = f"node.labels.{EDGE_LABEL} == true"
DATA_CONSTRAINT = f"node.labels.{DATA_LABEL} == true"
SECRETS_DIR = "/run/secrets"
STATS_USERS_FILE = f"{SECRETS_DIR}/haproxy-stats-users.cfg"
SWARM_LAYOUT: HaproxyLayout = replace(CONTAINER_LAYOUT, stats_users_file=STATS_USERS_FILE)
HAPROXY_UID = "99"  # the official image's haproxy user: it reads its secrets and configs as that user
RUN_VOLUME = "haproxy-run"  # a node-local volume per edge node: the runtime socket
MONITOR_S = 15  # how long Swarm watches a new task before it counts the update as a success
STACK_NAMESPACE_LABEL = "com.docker.stack.namespace"
OBJECT_NAME_MAX = 64
# Names resolve to the tasks themselves: no virtual IP, so no IPVS in the kernel, and HAProxy follows a
# replaced task through Docker's DNS (its `resolvers docker`).
ENDPOINT_MODE = "dnsrr"  # Docker's limit for secret and config names


@dataclass(frozen=True)
class UpdatePolicy:
    """One task at a time; stop-first, since a host port or a data folder cannot be shared by two."""

    failure_action: Literal["pause", "continue", "rollback"]
    parallelism: int = 1
    monitor_s: int = MONITOR_S
    order: Literal["start-first", "stop-first"] = "stop-first"


UPDATE_POLICY = UpdatePolicy("rollback")  # a new task that fails within the monitor window rolls back
ROLLBACK_POLICY = UpdatePolicy("pause")
RESTART_DELAY_S = 5


@dataclass(frozen=True)
class SecretSource:
    """Where a secret's value comes from: a variable of an env file, or a whole file."""

    key: str
    file: str  # relative to the stack folder
    variable: str | None = None  # None: the whole file (a TLS bundle)
    template: str | None = None  # the value is put into this text at {value}


@dataclass(frozen=True)
class ObjectRef:
    """A secret or config as a service mounts it."""

    key: str
    target: str
    uid: str = "0"
    gid: str = "0"
    mode: int = 0o400


@dataclass(frozen=True)
class SwarmService:
    model: ServiceModel  # image, command, environment, mounts, ports, healthcheck (env_files unused)
    global_mode: bool
    constraints: tuple[str, ...]
    secrets: tuple[ObjectRef, ...] = ()
    configs: tuple[ObjectRef, ...] = ()
    volumes: tuple[tuple[str, str], ...] = ()  # (volume key, target): node-local named volumes
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def on_data_node(self) -> bool:
        return DATA_CONSTRAINT in self.constraints


def object_name(project: str, key: str, digest: str) -> str:
    """A secret's or config's Docker name: immutable, so its content hash is part of it."""
    base = f"{project}_{key}"
    return f"{base[: OBJECT_NAME_MAX - len(digest) - 1]}-{digest}"


def content_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def service_name(project: str, service: str) -> str:
    """Swarm's name for a service of this stack, as `docker stack deploy` names it."""
    return f"{project}_{service}"


def _photoprism_sites(spec: StackSpec) -> list[Site]:
    return [s for s in spec.sites if s.photoprism is not None and s.service is not None]


def secret_sources(spec: StackSpec) -> list[SecretSource]:
    """Every secret of the stack, in a stable order."""
    found = [
        SecretSource(
            "haproxy-stats-users",
            "secrets/haproxy.env",
            "STATS_PASSWORD",
            'userlist stats_users\n    user admin insecure-password "{value}"\n',
        )
    ]
    if spec.database.kind == "mariadb":
        found.append(SecretSource("mariadb-password", "secrets/mariadb.env", "MARIADB_PASSWORD"))
        found.append(SecretSource("mariadb-root-password", "secrets/mariadb.env", "MARIADB_ROOT_PASSWORD"))
    for site in _photoprism_sites(spec):
        found.append(SecretSource(f"{site.service}-admin-password", site.secrets_file, "PHOTOPRISM_ADMIN_PASSWORD"))
        if spec.database.kind == "mariadb":
            found.append(
                SecretSource(f"{site.service}-database-password", site.secrets_file, "PHOTOPRISM_DATABASE_PASSWORD")
            )
    for site in spec.sites:
        found.append(SecretSource(tls_key(site.domain), f"certs/haproxy/{site.domain}.pem"))
    found.append(SecretSource(DEFAULT_TLS_KEY, f"certs/haproxy/{DEFAULT_CERT_FILE}"))
    return found


DEFAULT_TLS_KEY = "tls-default-certificate"  # a domain has a dot: no site's key can be this


def tls_key(domain: str) -> str:
    return f"tls-{domain}"


def haproxy_config_key(file_name: str) -> str:
    return f"haproxy-{file_name}"


def _secret_ref(key: str, uid: str = "0") -> ObjectRef:
    return ObjectRef(key, f"{SECRETS_DIR}/{key}", uid, uid)


def _mariadb(model: ServiceModel) -> SwarmService:
    env = {
        **model.environment,
        "MARIADB_PASSWORD_FILE": f"{SECRETS_DIR}/mariadb-password",
        "MARIADB_ROOT_PASSWORD_FILE": f"{SECRETS_DIR}/mariadb-root-password",
    }
    return SwarmService(
        replace(model, environment=env, env_files=()),
        global_mode=False,
        constraints=(DATA_CONSTRAINT,),
        secrets=(_secret_ref("mariadb-password"), _secret_ref("mariadb-root-password")),
    )


def _photoprism(spec: StackSpec, model: ServiceModel) -> SwarmService:
    env = {**model.environment, "PHOTOPRISM_ADMIN_PASSWORD_FILE": f"{SECRETS_DIR}/{model.name}-admin-password"}
    refs = [_secret_ref(f"{model.name}-admin-password")]
    if spec.database.kind == "mariadb":
        env["PHOTOPRISM_DATABASE_PASSWORD_FILE"] = f"{SECRETS_DIR}/{model.name}-database-password"
        refs.append(_secret_ref(f"{model.name}-database-password"))
    return SwarmService(
        replace(model, environment=env, env_files=()),
        global_mode=False,
        constraints=(DATA_CONSTRAINT,),
        secrets=tuple(refs),
    )


def _haproxy(spec: StackSpec, model: ServiceModel, config_files: list[str]) -> SwarmService:
    layout = SWARM_LAYOUT
    # Host mode on every edge node: ingress would hide the client's address from PhotoPrism's login limits.
    ports = tuple(p for p in model.ports if p.container_port in (layout.http_port, layout.https_port))
    command = ("haproxy", "-W", "-db", "-f", f"{HAPROXY_CONFIG_DIR}/haproxy.cfg", "-f", STATS_USERS_FILE)
    configs = tuple(
        ObjectRef(haproxy_config_key(name), f"{HAPROXY_CONFIG_DIR}/{name}", HAPROXY_UID, HAPROXY_UID, 0o444)
        for name in config_files
    )
    bundles = [(tls_key(site.domain), f"{site.domain}.pem") for site in spec.sites]
    bundles.append((DEFAULT_TLS_KEY, DEFAULT_CERT_FILE))
    tls = tuple(ObjectRef(key, f"{layout.certs_dir}{name}", HAPROXY_UID, HAPROXY_UID) for key, name in bundles)
    return SwarmService(
        replace(model, ports=ports, command=command, env_files=(), mounts=(), depends_on={}),
        global_mode=True,
        constraints=(EDGE_CONSTRAINT,),
        secrets=(ObjectRef("haproxy-stats-users", STATS_USERS_FILE, HAPROXY_UID, HAPROXY_UID), *tls),
        configs=configs,
        volumes=((RUN_VOLUME, HAPROXY_SOCKET_DIR),),
    )


def _other(model: ServiceModel) -> SwarmService:
    """An upstream container: pinned with the data when it mounts folders, anywhere otherwise."""
    constraints = (DATA_CONSTRAINT,) if model.mounts else ()
    return SwarmService(replace(model, depends_on={}), global_mode=False, constraints=constraints)


def swarm_services(spec: StackSpec, config_files: list[str], http3: bool = False) -> list[SwarmService]:
    """The stack's Swarm services in deploy order. `config_files` are the names in HAProxy's folder;
    with `http3`, HAProxy publishes the HTTPS port over UDP too (host mode, as the TCP ports)."""
    photoprism = {s.service for s in _photoprism_sites(spec)}
    result = []
    for model in stack_services(spec, http3):
        model = replace(model, depends_on={}, restart="any")
        if model.name == "mariadb":
            result.append(_mariadb(model))
        elif model.name in photoprism:
            result.append(_photoprism(spec, model))
        elif model.name == "haproxy":
            result.append(_haproxy(spec, model, config_files))
        else:
            result.append(_other(model))
    return result


def object_names(spec: StackSpec, haproxy_folder: dict[str, str], secret_digests: dict[str, str]) -> dict[str, str]:
    """Every secret's and config's Docker name by key: configs hashed here from HAProxy's folder,
    secrets from the digests the caller computed of their values."""
    names = {
        haproxy_config_key(file): object_name(spec.name, haproxy_config_key(file), content_digest(text.encode()))
        for file, text in haproxy_folder.items()
    }
    for source in secret_sources(spec):
        names[source.key] = object_name(spec.name, source.key, secret_digests[source.key])
    return names
