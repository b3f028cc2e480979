"""The compose model made concrete for the Docker SDK: absolute paths, env files read, a config hash."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackctl.config.layout import StackPaths
from stackctl.config.secrets import read_env_file
from stackctl.config.spec import StackSpec
from stackctl.engines.features import edge_features
from stackctl.engines.labels import (
    CONFIG_FILES_LABEL,
    HASH_LABEL,
    NUMBER_LABEL,
    ONEOFF_LABEL,
    PROJECT_LABEL,
    SERVICE_LABEL,
    WORKING_DIR_LABEL,
)
from stackctl.render.services import Healthcheck, PortMapping, container_name, stack_services

# The HAProxy container's user when stackctl runs as root: the official image's haproxy user.
HAPROXY_IMAGE_UID = 99
LEGACY_RESTART_POLICY = "unless-stopped"  # what earlier stackctl versions gave every container
NS = 10**9  # Docker's health check durations are in nanoseconds


@dataclass(frozen=True)
class Bind:
    host: Path
    target: str
    read_only: bool

    def as_sdk(self) -> str:
        return f"{self.host}:{self.target}:{'ro' if self.read_only else 'rw'}"


@dataclass(frozen=True)
class Service:
    name: str
    container_name: str
    image: str
    command: list[str] | None
    environment: dict[str, str]
    ports: dict[str, list[tuple[str, int]]]  # "443/tcp" -> each (host address, host port) it is published on
    binds: list[Bind]
    healthcheck: dict[str, Any] | None
    depends_on: list[str]
    options: dict[str, Any] = field(default_factory=dict)
    # The user's networks it joins besides the stack's. Not in the config hash: a running container
    # joins a network without being recreated.
    external_networks: tuple[str, ...] = ()
    # Read by the image only to initialize an empty data folder (MariaDB's passwords): not in the hash,
    # so that rotating one does not make the running container look changed.
    init_only_env: frozenset[str] = frozenset()
    # The environment an earlier stackctl gave the container (HAProxy had the stats password in it): a
    # container made so still matches, and is replaced only when it must change anyway.
    legacy_environment: dict[str, str] | None = None

    @property
    def sdk_ports(self) -> dict[str, tuple[str, int] | list[tuple[str, int]]]:
        """`ports` as the Docker SDK takes them: a port published on one address is one (address, port),
        as containers made before ports.bind took a list were hashed."""
        return {key: bound[0] if len(bound) == 1 else bound for key, bound in self.ports.items()}

    @property
    def config_hash(self) -> str:
        """Changes whenever the container would be created differently (secrets only as a digest). Not
        the restart policy (RESTART_POLICY for every container): it is set on a running one live."""
        return self._hash(self.options, self._hashed_environment)

    def matches(self, label: str | None) -> bool:
        """A container whose hash label is `label` has this service's settings. Containers that earlier
        stackctl versions created hashed their restart policy (`unless-stopped`) and their init-only
        variables too: they match, and `up` sets the policy on them live instead of recreating them."""
        legacy = self._hashes(self.legacy_environment) if self.legacy_environment is not None else set()
        return (
            label is not None
            and label in self._hashes(self.environment) | self._hashes(self._hashed_environment) | legacy
        )

    def made_with_legacy_environment(self, label: str | None) -> bool:
        """The container matches only as an earlier stackctl made it (`legacy_environment`)."""
        return self.matches(label) and label not in self._current_hashes()

    def _current_hashes(self) -> set[str]:
        """As this stackctl makes the container (and as one that still hashed init-only variables did)."""
        return self._hashes(self.environment) | self._hashes(self._hashed_environment)

    def matches_whatever_init_only_env(self, label: str | None) -> bool:
        """`label` stays matching when an init-only variable changes: the container was made by a
        stackctl that leaves them out of the hash."""
        return label is not None and label in self._hashes(self._hashed_environment)

    @property
    def _hashed_environment(self) -> dict[str, str]:
        return {k: v for k, v in self.environment.items() if k not in self.init_only_env}

    def _hashes(self, environment: dict[str, str]) -> set[str]:
        legacy = {**self.options, "restart_policy": {"Name": LEGACY_RESTART_POLICY}}
        return {self._hash(self.options, environment), self._hash(legacy, environment)}

    def _hash(self, options: dict[str, Any], environment: dict[str, str]) -> str:
        document = {
            "image": self.image,
            "command": self.command,
            "environment": environment,
            "ports": self.sdk_ports,
            "binds": [b.as_sdk() for b in self.binds],
            "healthcheck": self.healthcheck,
            "options": options,
        }
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()

    def host_path(self, target: str) -> Path:
        """The host folder mounted at `target` in the container."""
        return next(b.host for b in self.binds if b.target == target)

    def labels(self, project: str, working_dir: Path) -> dict[str, str]:
        folder = working_dir.absolute()
        return {
            PROJECT_LABEL: project,
            SERVICE_LABEL: self.name,
            NUMBER_LABEL: "1",
            ONEOFF_LABEL: "False",
            HASH_LABEL: self.config_hash,
            WORKING_DIR_LABEL: str(folder),
            CONFIG_FILES_LABEL: str(folder / "compose.yaml"),
        }


def absolute_under(compose_dir: Path, relative: str) -> Path:
    """A compose-relative path made absolute without touching the disk (compose/ may not exist yet)."""
    return Path(os.path.normpath(compose_dir.absolute() / os.path.expanduser(relative)))


def _port_bindings(mappings: tuple[PortMapping, ...]) -> dict[str, list[tuple[str, int]]]:
    bindings: dict[str, list[tuple[str, int]]] = {}
    for p in mappings:
        bindings.setdefault(f"{p.container_port}/{p.protocol}", []).append((p.host_ip, p.host_port))
    return bindings


def sdk_healthcheck(check: Healthcheck | None) -> dict[str, Any] | None:
    if check is None:
        return None
    return {
        "test": list(check.test),
        "interval": check.interval_s * NS,
        "timeout": check.timeout_s * NS,
        "retries": check.retries,
        "start_period": check.start_period_s * NS,
    }


def haproxy_ids(stack_root: Path) -> tuple[int, int]:
    """HAProxy's uid and gid, never root and never the caller's (sudo must not change them): the
    owner of the stack folder, who can read its 0600 keys, or the image's haproxy user when root owns it."""
    info = stack_root.stat()
    if info.st_uid == 0:
        return HAPROXY_IMAGE_UID, HAPROXY_IMAGE_UID
    return info.st_uid, info.st_gid


def haproxy_service(spec: StackSpec, paths: StackPaths) -> Service:
    """HAProxy's service alone (no other service's environment file is read)."""
    return services(spec, paths, only="haproxy")[0]


def services(spec: StackSpec, paths: StackPaths, only: str | None = None) -> list[Service]:
    """The services in start order (or the one named `only`), from the one typed model compose.yaml is
    written from. HAProxy's configuration folder is mounted, not hashed: a new configuration is a reload,
    not a new container."""
    result = []
    for model in stack_services(spec, edge_features(paths, spec).http3):
        if only is not None and model.name != only:
            continue
        options: dict[str, Any] = {
            "security_opt": list(model.security_opt) or None,
            "working_dir": model.working_dir,
            "stop_signal": model.stop_signal,
        }
        if model.name == "haproxy":
            uid, gid = haproxy_ids(paths.root)
            options["user"] = f"{uid}:{gid}"
        environment: dict[str, str] = {}
        for env_file in model.env_files:
            environment.update(read_env_file(absolute_under(paths.compose_dir, env_file)))
        environment.update(model.environment)
        legacy: dict[str, str] = {}
        for env_file in model.legacy_env_files:
            path = absolute_under(paths.compose_dir, env_file)
            legacy.update(read_env_file(path) if path.exists() else {})
        result.append(
            Service(
                name=model.name,
                container_name=container_name(spec, model.name),
                image=model.image,
                command=None if model.command is None else list(model.command),
                environment=environment,
                ports=_port_bindings(model.ports),
                binds=[Bind(absolute_under(paths.compose_dir, m.source), m.target, m.read_only) for m in model.mounts],
                healthcheck=sdk_healthcheck(model.healthcheck),
                depends_on=list(model.depends_on),
                options={k: v for k, v in options.items() if v is not None},
                external_networks=model.external_networks,
                init_only_env=frozenset(model.init_only_env),
                legacy_environment={**legacy, **environment} if legacy else None,
            )
        )
    return result
