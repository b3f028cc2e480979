"""The compose model made concrete for the Docker SDK: absolute paths, env files read, a config hash."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackctl.config.layout import StackPaths
from stackctl.config.secrets import read_env_file
from stackctl.config.spec import StackSpec
from stackctl.engines.docker.ownership import (
    CONFIG_FILES_LABEL,
    HASH_LABEL,
    NUMBER_LABEL,
    ONEOFF_LABEL,
    PROJECT_LABEL,
    SERVICE_LABEL,
    WORKING_DIR_LABEL,
)
from stackctl.render.compose import NETWORK, compose_model

# The HAProxy container's user when stackctl runs as root: the official image's haproxy user.
HAPROXY_IMAGE_UID = 99
START_ORDER = ("mariadb", "photoprism", "haproxy")
_DURATION = re.compile(r"(\d+)(ms|s|m|h)")


def duration_ns(text: str) -> int:
    match = _DURATION.fullmatch(text)
    if not match:
        raise ValueError(f"unsupported duration {text!r}")
    unit = {"ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}[match.group(2)]
    return int(match.group(1)) * unit


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
    ports: dict[str, tuple[str, int]]
    binds: list[Bind]
    healthcheck: dict[str, Any] | None
    depends_on: list[str]
    options: dict[str, Any] = field(default_factory=dict)
    extra_hash_input: str = ""

    @property
    def config_hash(self) -> str:
        """Changes whenever the container would be created differently (secrets only as a digest)."""
        document = {
            "image": self.image,
            "command": self.command,
            "environment": self.environment,
            "ports": self.ports,
            "binds": [b.as_sdk() for b in self.binds],
            "healthcheck": self.healthcheck,
            "options": self.options,
            "extra": self.extra_hash_input,
        }
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()

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


def _under(compose_dir: Path, relative: str) -> Path:
    """A compose-relative path made absolute without touching the disk (compose/ may not exist yet)."""
    return Path(os.path.normpath(compose_dir.absolute() / relative))


def _read_env_files(compose_dir: Path, names: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in names:
        values.update(read_env_file(_under(compose_dir, name)))
    return values


def _binds(compose_dir: Path, volumes: list[str]) -> list[Bind]:
    binds = []
    for volume in volumes:
        parts = volume.split(":")
        read_only = len(parts) == 3 and parts[2] == "ro"
        binds.append(Bind(_under(compose_dir, os.path.expanduser(parts[0])), parts[1], read_only))
    return binds


def _ports(entries: list[str]) -> dict[str, tuple[str, int]]:
    ports = {}
    for entry in entries:
        address, host_port, container_port = entry.rsplit(":", 2)
        ports[f"{container_port}/tcp"] = (address, int(host_port))
    return ports


def _healthcheck(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    return {
        "test": raw["test"],
        "interval": duration_ns(raw["interval"]),
        "timeout": duration_ns(raw["timeout"]),
        "retries": raw["retries"],
        "start_period": duration_ns(raw["start_period"]),
    }


def haproxy_ids(stack_root: Path) -> tuple[int, int]:
    """HAProxy's uid and gid, never root and never the caller's (sudo must not change them): the
    owner of the stack folder, who can read its 0600 keys, or the image's haproxy user when root owns it."""
    info = stack_root.stat()
    if info.st_uid == 0:
        return HAPROXY_IMAGE_UID, HAPROXY_IMAGE_UID
    return info.st_uid, info.st_gid


def services(spec: StackSpec, paths: StackPaths, haproxy_cfg_text: str) -> list[Service]:
    """The services in start order."""
    model = compose_model(spec)
    result = []
    for name in START_ORDER:
        raw = model["services"].get(name)
        if raw is None:
            continue
        options: dict[str, Any] = {
            "restart_policy": {"Name": raw["restart"]},
            "security_opt": raw.get("security_opt"),
            "working_dir": raw.get("working_dir"),
            "stop_signal": raw.get("stop_signal"),
        }
        if name == "haproxy":
            uid, gid = haproxy_ids(paths.root)
            options["user"] = f"{uid}:{gid}"
        environment = {**_read_env_files(paths.compose_dir, raw.get("env_file", [])), **raw.get("environment", {})}
        result.append(
            Service(
                name=name,
                container_name=f"{spec.name}-{name}-1",
                image=raw["image"],
                command=raw.get("command"),
                environment=environment,
                ports=_ports(raw.get("ports", [])),
                binds=_binds(paths.compose_dir, raw.get("volumes", [])),
                healthcheck=_healthcheck(raw.get("healthcheck")),
                depends_on=list(raw.get("depends_on", {})),
                options={k: v for k, v in options.items() if v is not None},
                extra_hash_input=hashlib.sha256(haproxy_cfg_text.encode()).hexdigest() if name == "haproxy" else "",
            )
        )
    return result


def network_name(spec: StackSpec) -> str:
    return str(compose_model(spec)["networks"][NETWORK]["name"])
