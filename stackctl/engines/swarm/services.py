"""A stack's services on the Swarm: the SDK's service spec built from the typed Swarm model, created
or updated only when it changed, and waited for until Swarm reports it converged (or rolled back)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.models.services import Service as SdkService
from docker.types import (
    ConfigReference,
    EndpointSpec,
    Healthcheck,
    Mount,
    NetworkAttachmentConfig,
    RestartPolicy,
    RollbackConfig,
    SecretReference,
    ServiceMode,
    UpdateConfig,
)

from stackctl.core.clock import Deadline
from stackctl.core.errors import OperationFailed
from stackctl.engines.base import UpdateRolledBack
from stackctl.engines.docker.client import docker_call
from stackctl.engines.model import NS, absolute_under, sdk_healthcheck
from stackctl.render.services import PortMapping
from stackctl.render.swarm import (
    ENDPOINT_MODE,
    RESTART_DELAY_S,
    ROLLBACK_POLICY,
    STACK_NAMESPACE_LABEL,
    UPDATE_POLICY,
    SwarmService,
    UpdatePolicy,
    service_name,
)

SPEC_HASH_LABEL = "io.stackctl.spec-hash"
IMAGE_LABEL = "com.docker.stack.image"  # as `docker stack deploy` labels a service
# The ID of the image behind the tag when the spec was deployed: a Swarm rollback puts the previous
# spec back, labels included, so this is the image the service runs after either.
IMAGE_ID_LABEL = "io.stackctl.image-id"
POLL_S = 0.25
CRASH_LOOP_TASKS = 3  # failed tasks of one service that end the wait: Swarm would go on restarting it
FAILED_UPDATE_STATES = ("paused", "rollback_paused", "rollback_completed")  # rollback_started: wait for its end


@dataclass(frozen=True)
class Placed:
    """What a service needs from the cluster: its objects' IDs and the network."""

    project: str
    network_id: str
    compose_dir: Path
    names: dict[str, str]  # key -> Docker name of each secret and config
    ids: dict[str, str]  # Docker name -> ID
    user_networks: dict[str, str] = field(default_factory=dict)  # upstream.network name -> ID


def _policy(policy: UpdatePolicy, kind: type[UpdateConfig]) -> UpdateConfig:
    return kind(
        parallelism=policy.parallelism,
        failure_action=policy.failure_action,
        monitor=policy.monitor_s * NS,
        order=policy.order,
    )


def _host_port(port: PortMapping) -> dict[str, Any]:
    """Published on the node itself: ingress would hide the client's address (moby#25526)."""
    return {
        "Protocol": port.protocol,
        "PublishedPort": port.host_port,
        "TargetPort": port.container_port,
        "PublishMode": "host",
    }


def service_kwargs(
    service: SwarmService, placed: Placed, image_id: str = "", reference: str | None = None
) -> dict[str, Any]:
    """The SDK's keyword arguments for services.create / Service.update. `image_id`, the local image
    behind the tag, is part of the spec hash: a new image under the same tag is an update. `reference`:
    the image to run, pinned to its registry digest when it has one (default: the model's)."""
    model = service.model
    mounts = [
        Mount(m.target, str(absolute_under(placed.compose_dir, m.source)), type="bind", read_only=m.read_only)
        for m in model.mounts
    ] + [Mount(target, f"{placed.project}_{key}", type="volume") for key, target in service.volumes]

    def ref(kind: type[SecretReference] | type[ConfigReference], key: str, target: str, uid: str, mode: int) -> Any:
        name = placed.names[key]
        return kind(placed.ids[name], name, filename=target, uid=uid, gid=uid, mode=mode)

    check = sdk_healthcheck(model.healthcheck)
    kwargs: dict[str, Any] = {
        "name": service_name(placed.project, service.name),
        "image": reference or model.image,
        "args": None if model.command is None else list(model.command),
        "env": [f"{k}={v}" for k, v in sorted(model.environment.items())],
        "mounts": mounts,
        "secrets": [ref(SecretReference, r.key, r.target, r.uid, r.mode) for r in service.secrets],
        "configs": [ref(ConfigReference, r.key, r.target, r.uid, r.mode) for r in service.configs],
        "constraints": list(service.constraints),
        "mode": ServiceMode("global") if service.global_mode else ServiceMode("replicated", replicas=1),
        "networks": [
            NetworkAttachmentConfig(placed.network_id, aliases=[service.name]),
            *(NetworkAttachmentConfig(placed.user_networks[name]) for name in model.external_networks),
        ],
        "endpoint_spec": EndpointSpec(mode=ENDPOINT_MODE, ports=[_host_port(p) for p in model.ports]),
        "update_config": _policy(UPDATE_POLICY, UpdateConfig),
        "rollback_config": _policy(ROLLBACK_POLICY, RollbackConfig),
        "restart_policy": RestartPolicy(condition="any", delay=RESTART_DELAY_S * NS),
        "healthcheck": None if check is None else Healthcheck(**check),
        "workdir": model.working_dir,
        "stop_signal": model.stop_signal,
        "stop_grace_period": None if model.stop_grace_period_s is None else model.stop_grace_period_s * NS,
        "container_labels": {STACK_NAMESPACE_LABEL: placed.project},
    }
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    digest = hashlib.sha256(json.dumps([kwargs, image_id], sort_keys=True, default=repr).encode()).hexdigest()[:16]
    kwargs["labels"] = {STACK_NAMESPACE_LABEL: placed.project, IMAGE_LABEL: model.image, SPEC_HASH_LABEL: digest}
    if image_id:
        kwargs["labels"][IMAGE_ID_LABEL] = image_id
    return kwargs


def secrets_alone_differ(
    service: SwarmService, placed: Placed, image: tuple[str, str], running: SdkService
) -> frozenset[str]:
    """The keys of the secrets whose new versions alone make `service` differ from the running one:
    empty when it does not differ, or differs in anything else too."""
    spec = running.attrs.get("Spec", {}).get("TaskTemplate", {}).get("ContainerSpec", {})
    deployed = {ref.get("File", {}).get("Name"): ref for ref in spec.get("Secrets") or []}
    names, ids, keys = dict(placed.names), dict(placed.ids), set()
    for ref in service.secrets:
        old = deployed.get(ref.target)
        if old is not None and old.get("SecretName") != names[ref.key]:
            names[ref.key] = str(old["SecretName"])
            ids[names[ref.key]] = str(old["SecretID"])
            keys.add(ref.key)
    if not keys:
        return frozenset()
    as_running = service_kwargs(service, replace(placed, names=names, ids=ids), *image)
    return frozenset(keys) if as_running["labels"][SPEC_HASH_LABEL] == spec_hash(running) else frozenset()


def deployed_image_id(service: SdkService) -> str | None:
    labels = service.attrs.get("Spec", {}).get("Labels") or {}
    return labels.get(IMAGE_ID_LABEL)


def spec_hash(service: SdkService) -> str | None:
    labels = service.attrs.get("Spec", {}).get("Labels") or {}
    return labels.get(SPEC_HASH_LABEL)


def stack_services(client: docker.DockerClient, project: str) -> dict[str, SdkService]:
    """This stack's services by their short name."""
    with docker_call("list this stack's Swarm services"):
        found = client.services.list(filters={"label": f"{STACK_NAMESPACE_LABEL}={project}"})
    prefix = f"{project}_"
    return {s.name.removeprefix(prefix): s for s in found if s.name and s.name.startswith(prefix)}


def _update_started(service: SdkService) -> str | None:
    status = service.attrs.get("UpdateStatus") or {}
    return status.get("StartedAt")


def deploy_service(
    client: docker.DockerClient, kwargs: dict[str, Any], existing: SdkService | None, expected_tasks: int,
    deadline: Deadline, keep: bool = False,
) -> str:  # fmt: skip
    """Create or update one service and wait until Swarm reports it converged: `created`, `updated` or
    `kept` (also when it differs but `keep`). An update that Swarm rolled back raises OperationFailed with
    what Swarm said."""
    name = kwargs["name"]
    if existing is not None and (keep or spec_hash(existing) == kwargs["labels"][SPEC_HASH_LABEL]):
        wait_running(client, name, expected_tasks, deadline)
        return "kept"
    if existing is None:
        with docker_call(f"create the Swarm service {name}"):
            client.services.create(**kwargs)
        wait_running(client, name, expected_tasks, deadline)
        return "created"
    before = _update_started(existing)
    with docker_call(f"update the Swarm service {name}"):
        # force_update: the tasks roll even when only the image behind an unchanged tag is new.
        existing.update(**kwargs, fetch_current_spec=False, force_update=True)
    wait_update(client, name, before, deadline)
    wait_running(client, name, expected_tasks, deadline)
    return "updated"


def _service(client: docker.DockerClient, name: str) -> SdkService:
    with docker_call(f"inspect the Swarm service {name}"):
        service: SdkService = client.services.get(name)
    return service


def wait_update(client: docker.DockerClient, name: str, before: str | None, deadline: Deadline) -> None:
    """Until the rolling update that started after `before` completes; raises when Swarm rolled it back."""
    while True:
        service = _service(client, name)
        status = service.attrs.get("UpdateStatus") or {}
        state = status.get("State")
        if status.get("StartedAt") != before and state:
            if state == "completed":
                return
            if state in FAILED_UPDATE_STATES:
                raise UpdateRolledBack(name, state, str(status.get("Message", "")))
        if deadline.expired():
            raise OperationFailed(
                f"the Swarm service {name} did not finish its update in time (state: {state or 'not started'})",
                f"see: docker service ps {name}",
            )
        time.sleep(POLL_S)


def running_tasks(service: SdkService) -> list[dict[str, Any]]:
    with docker_call(f"list the tasks of {service.name}"):
        tasks = service.tasks(filters={"desired-state": "running"})
    return [t for t in tasks if t.get("Status", {}).get("State") == "running"]


def wait_running(client: docker.DockerClient, name: str, expected: int, deadline: Deadline) -> None:
    """Until `expected` tasks run (healthy, for a service with a health check: Swarm reports a task
    running only once it is). A task Swarm cannot place or start is reported with Swarm's error."""
    last_error = ""
    while True:
        service = _service(client, name)
        with docker_call(f"list the tasks of {name}"):
            tasks = service.tasks()
        running = [t for t in tasks if t["DesiredState"] == "running" and t["Status"]["State"] == "running"]
        failed = [t for t in tasks if t["Status"]["State"] in ("failed", "rejected")]
        for task in tasks:
            error = task.get("Status", {}).get("Err")
            if error:
                last_error = str(error)
            if task["Status"]["State"] == "rejected" and "bind source path does not exist" in str(error):
                raise OperationFailed(f"{name}: {error}", "create the folder on the node that runs it")
        if len(failed) >= CRASH_LOOP_TASKS and len(running) < expected:
            raise OperationFailed(
                f"the Swarm service {name} keeps failing ({len(failed)} tasks failed; last: {last_error})",
                f"see: docker service logs {name}",
            )
        if len(running) >= expected:
            return
        if deadline.expired():
            raise OperationFailed(
                f"the Swarm service {name} has {len(running)} of {expected} tasks running"
                + (f"; last task error: {last_error}" if last_error else ""),
                f"see: docker service ps --no-trunc {name}",
            )
        time.sleep(POLL_S)


def remove_services(client: docker.DockerClient, project: str, deadline: Deadline) -> list[str]:
    """Remove the stack's services, and wait until their containers are gone (the network and the
    secrets stay in use until then)."""
    removed = []
    for short, service in stack_services(client, project).items():
        with docker_call(f"remove the Swarm service {service.name}"):
            service.remove()
        removed.append(short)
    while removed:
        with docker_call("list this stack's containers"):
            # The summaries only: containers.list inspects each one, and one may be gone by then.
            left = client.api.containers(all=True, filters={"label": f"{STACK_NAMESPACE_LABEL}={project}"})
        if not left:
            break
        if deadline.expired():
            raise OperationFailed(
                f"{len(left)} containers of the removed services are still there", "run stackctl down again"
            )
        time.sleep(POLL_S)
    return removed
