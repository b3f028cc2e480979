"""`stackctl up` with `engine: swarm`: the same checks and certificates as on one host, then the
stack deployed as Swarm services: secrets and configs first (named by content), each service created
or rolled, waited for, and verified over HTTPS on every edge node."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from stackctl.config.layout import StackPaths
from stackctl.config.secrets import read_secrets
from stackctl.config.spec import StackSpec
from stackctl.core.clock import Deadline
from stackctl.core.errors import OperationFailed
from stackctl.core.fsio import ensure_dir
from stackctl.engines.base import ApplyResult, PullProgress, Report
from stackctl.engines.docker.engine import DockerEngine
from stackctl.engines.docker.images import ensure_images
from stackctl.engines.model import absolute_under, services
from stackctl.engines.swarm.engine import SwarmEngine
from stackctl.engines.swarm.objects import SwarmObject
from stackctl.flows.generated import FileState, generated_states, write_changed
from stackctl.flows.swarm_secrets import secret_digests, secret_values
from stackctl.render import HAPROXY_FOLDER
from stackctl.render.services import network_model, stack_services
from stackctl.render.swarm import SwarmService, haproxy_config_key, object_names, swarm_services


@dataclass
class SwarmPlan:
    """What one deploy needs: the services, their secrets and configs, and those objects' names."""

    services: list[SwarmService]
    objects: list[SwarmObject]
    names: dict[str, str]
    states: list[FileState] = field(default_factory=list)


def swarm_plan(paths: StackPaths, spec: StackSpec) -> SwarmPlan:
    """Render everything (compose.yaml included) and read every secret; writes nothing."""
    read_secrets(paths.secrets, spec)
    states = generated_states(paths, spec)
    prefix = f"{HAPROXY_FOLDER}/"
    folder = {s.name.removeprefix(prefix): s.desired for s in states if s.name.startswith(prefix)}
    values = secret_values(paths.root, spec)
    names = object_names(spec, folder, secret_digests(spec, values))
    objects = [SwarmObject("secret", names[key], value) for key, value in values.items()]
    objects += [SwarmObject("config", names[haproxy_config_key(f)], text.encode()) for f, text in folder.items()]
    return SwarmPlan(swarm_services(spec, sorted(folder)), objects, names, states)


def _prepare_local_folders(engine: SwarmEngine, planned: list[SwarmService], paths: StackPaths) -> None:
    """On the data node itself, the folders the pinned services mount are created like on one host."""
    local = engine.local_node()
    if local is None or not local.data:
        return
    for service in planned:
        if service.on_data_node:
            for mount in service.model.mounts:
                ensure_dir(absolute_under(paths.compose_dir, mount.source), 0o755)


def _check_ports_free(engine: SwarmEngine, spec: StackSpec, paths: StackPaths) -> None:
    """Before HAProxy's first task on this edge node: 80 and 443 are free here (on another node, Swarm
    reports a taken port as the task's error)."""
    local = engine.local_node()
    if "haproxy" in engine.service_names(spec.name) or local is None or not local.edge:
        return
    haproxy = next(s for s in services(spec, paths) if s.name == "haproxy")
    public = {key: bound for key, bound in haproxy.ports.items() if bound[1] in (spec.ports.http, spec.ports.https)}
    DockerEngine(engine.client).check_ports_free([replace(haproxy, ports=public)], {})


def prepare_swarm(
    paths: StackPaths, spec: StackSpec, engine: SwarmEngine, deadline: Deadline, report: Report,
    progress: PullProgress,
) -> None:  # fmt: skip
    """The checks before anything is written: images here, node roles, HAProxy's ports on this node,
    the data folders on the data node."""
    ensure_images(engine.client, sorted({s.image for s in stack_services(spec)}), spec.pull, progress)
    engine.ensure_roles(report)
    _check_ports_free(engine, spec, paths)
    planned = swarm_services(spec, [])
    _prepare_local_folders(engine, planned, paths)
    engine.check_data_folders(spec.name, planned, paths.compose_dir, deadline)


def deploy_stack(
    paths: StackPaths, spec: StackSpec, engine: SwarmEngine, deadline: Deadline, report: Report,
    only: list[str] | None = None, on_ready: Callable[[str], None] | None = None,
) -> ApplyResult:  # fmt: skip
    """Write the generated files, then deploy every service (or the ones in `only`), in order."""
    plan = swarm_plan(paths, spec)
    for name in write_changed(paths, plan.states):
        report(f"wrote {name}")
    wanted = [s for s in plan.services if only is None or s.name in only]
    return engine.deploy(
        spec.name, network_model(spec), wanted, plan.objects, plan.names, paths.compose_dir, deadline, report,
        on_ready,
    )  # fmt: skip


def edge_addresses(engine: SwarmEngine) -> list[str]:
    addresses = engine.edge_addresses()
    if not addresses:
        raise OperationFailed(
            "no Swarm node is an edge node that is ready and active", "label one: docker node update "
            "--label-add stackctl.edge=true <node>",
        )  # fmt: skip
    return addresses
