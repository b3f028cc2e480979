"""What one Swarm deploy needs, from the generated files and the stack's secrets: the services, their
secrets and configs (named by a digest of their content), and those objects' names. Reads files
(with limits) and writes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from stackctl.config.layout import StackPaths
from stackctl.config.secrets import read_secrets
from stackctl.config.spec import StackSpec
from stackctl.config.upstream_ca import upstream_ca_files
from stackctl.engines.features import edge_features
from stackctl.engines.swarm.objects import SwarmObject
from stackctl.engines.swarm.secrets import secret_digests, secret_values
from stackctl.render import HAPROXY_FOLDER, render_swarm_stack
from stackctl.render.swarm import SwarmService, haproxy_config_key, object_names, swarm_services


@dataclass
class SwarmPlan:
    services: list[SwarmService]
    objects: list[SwarmObject]
    names: dict[str, str]


def rendered_for_swarm(paths: StackPaths, spec: StackSpec, acme_thumbprint: str | None) -> dict[str, str]:
    """The generated files; compose.yaml names each secret by a digest of its value."""
    digests = secret_digests(spec, secret_values(paths.root, spec))
    features, cas = edge_features(paths, spec), upstream_ca_files(paths.root, spec)
    return render_swarm_stack(spec, acme_thumbprint, digests, features, cas)


def swarm_plan(paths: StackPaths, spec: StackSpec, files: dict[str, str]) -> SwarmPlan:
    """The plan for the generated `files` (by path in the stack folder)."""
    read_secrets(paths.secrets, spec)
    prefix = f"{HAPROXY_FOLDER}/"
    folder = {name.removeprefix(prefix): text for name, text in files.items() if name.startswith(prefix)}
    values = secret_values(paths.root, spec)
    names = object_names(spec, folder, secret_digests(spec, values))
    objects = [SwarmObject("secret", names[key], value) for key, value in values.items()]
    objects += [SwarmObject("config", names[haproxy_config_key(f)], text.encode()) for f, text in folder.items()]
    return SwarmPlan(swarm_services(spec, sorted(folder), edge_features(paths, spec).http3), objects, names)
