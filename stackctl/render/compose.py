"""compose.yaml for the stack (design.md section 5): the typed service model serialized. Valid for
`docker compose` as well as for stackctl."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from stackctl.config.settings import is_ipv6
from stackctl.config.spec import StackSpec
from stackctl.render.haproxy import BASELINE, EdgeFeatures
from stackctl.render.header import GENERATED_HEADER
from stackctl.render.services import NETWORK, Healthcheck, PortMapping, ServiceModel, network_model, stack_services
from stackctl.render.swarm import (
    ENDPOINT_MODE,
    RESTART_DELAY_S,
    ROLLBACK_POLICY,
    UPDATE_POLICY,
    SwarmService,
    UpdatePolicy,
    haproxy_config_key,
    secret_sources,
    swarm_services,
)


def _healthcheck(check: Healthcheck) -> dict[str, Any]:
    return {
        "test": list(check.test),
        "interval": f"{check.interval_s}s",
        "timeout": f"{check.timeout_s}s",
        "retries": check.retries,
        "start_period": f"{check.start_period_s}s",
    }


def _port(mapping: PortMapping) -> str:
    host_ip = f"[{mapping.host_ip}]" if is_ipv6(mapping.host_ip) else mapping.host_ip
    text = f"{host_ip}:{mapping.host_port}:{mapping.container_port}"
    return text if mapping.protocol == "tcp" else f"{text}/{mapping.protocol}"


def service_document(service: ServiceModel) -> dict[str, Any]:
    """One service as compose writes it; keys in compose's usual order, empty ones left out."""
    fields: list[tuple[str, Any]] = [
        ("image", service.image),
        ("restart", service.restart),
        ("stop_signal", service.stop_signal),
        ("stop_grace_period", None if service.stop_grace_period_s is None else f"{service.stop_grace_period_s}s"),
        ("security_opt", list(service.security_opt) or None),
        ("working_dir", service.working_dir),
        ("command", None if service.command is None else list(service.command)),
        ("ports", [_port(p) for p in service.ports] or None),
        ("environment", dict(service.environment) or None),
        ("env_file", list(service.env_files) or None),
        ("volumes", [f"{m.source}:{m.target}" + (":ro" if m.read_only else "") for m in service.mounts] or None),
        ("networks", [NETWORK, *service.external_networks]),
        ("healthcheck", None if service.healthcheck is None else _healthcheck(service.healthcheck)),
        ("depends_on", {name: {"condition": c} for name, c in service.depends_on.items()} or None),
    ]
    return {key: value for key, value in fields if value is not None}


def _policy(policy: UpdatePolicy) -> dict[str, Any]:
    return {
        "parallelism": policy.parallelism,
        "failure_action": policy.failure_action,
        "monitor": f"{policy.monitor_s}s",
        "order": policy.order,
    }


SWARM_IGNORED = ("restart", "env_file", "depends_on", "security_opt")  # `docker stack deploy` ignores these


def _swarm_service_document(service: SwarmService) -> dict[str, Any]:
    """One service as `docker stack deploy` reads it: no container_name, no depends_on, a deploy: section."""
    document = {k: v for k, v in service_document(service.model).items() if k not in SWARM_IGNORED}
    if service.model.ports:
        document["ports"] = [
            {"target": p.container_port, "published": p.host_port, "protocol": p.protocol, "mode": "host"}
            for p in service.model.ports
        ]
    volumes = [
        *document.pop("volumes", []),
        *({"type": "volume", "source": key, "target": target} for key, target in service.volumes),
    ]
    if volumes:
        document["volumes"] = volumes
    for kind, refs in (("secrets", service.secrets), ("configs", service.configs)):
        if refs:
            document[kind] = [
                {"source": ref.key, "target": ref.target, "uid": ref.uid, "gid": ref.gid, "mode": ref.mode}
                for ref in refs
            ]
    deploy: dict[str, Any] = {"mode": "global"} if service.global_mode else {"mode": "replicated", "replicas": 1}
    deploy["endpoint_mode"] = ENDPOINT_MODE
    if service.constraints:
        deploy["placement"] = {"constraints": list(service.constraints)}
    deploy["restart_policy"] = {"condition": "any", "delay": f"{RESTART_DELAY_S}s"}
    deploy["update_config"] = _policy(UPDATE_POLICY)
    deploy["rollback_config"] = _policy(ROLLBACK_POLICY)
    document["deploy"] = deploy
    return document


def swarm_compose_model(
    spec: StackSpec, config_files: list[str], names: Mapping[str, str], http3: bool = False
) -> dict[str, Any]:
    """The `docker stack deploy` document of the deployment stackctl makes: secrets are created by
    stackctl (external here), configs come from HAProxy's folder under their content-hashed names."""
    network = network_model(spec)
    services = swarm_services(spec, config_files, http3)
    configs = {
        haproxy_config_key(file): {"name": names[haproxy_config_key(file)], "file": f"./haproxy/{file}"}
        for file in config_files
    }
    secrets = {source.key: {"name": names[source.key], "external": True} for source in secret_sources(spec)}
    volumes = {key: {"driver": "local"} for s in services for key, _ in s.volumes}
    networks: dict[str, Any] = {
        NETWORK: {"name": network.name, "driver": "overlay", "ipam": {"config": [{"subnet": network.subnet}]}}
    }
    for name in sorted({n for s in services for n in s.model.external_networks}):
        networks[name] = {"external": True}  # the user's overlay network: never created nor removed
    return {
        "services": {s.name: _swarm_service_document(s) for s in services},
        "networks": networks,
        "volumes": volumes,
        "secrets": secrets,
        "configs": configs,
    }


def compose_model(spec: StackSpec, features: EdgeFeatures = BASELINE) -> dict[str, Any]:
    """The compose document as data."""
    network = network_model(spec)
    services = stack_services(spec, features.http3)
    pools: list[dict[str, str]] = [{"subnet": network.subnet, "gateway": network.gateway}]
    bridge: dict[str, Any] = {"name": network.name, "driver": "bridge", "ipam": {"config": pools}}
    if network.subnet6 is not None:
        pools.append({"subnet": network.subnet6})
        bridge["enable_ipv6"] = True
    networks: dict[str, Any] = {NETWORK: bridge}
    for name in sorted({n for s in services for n in s.external_networks}):
        networks[name] = {"external": True}  # the user's: compose neither creates nor removes it
    return {"name": spec.name, "services": {s.name: service_document(s) for s in services}, "networks": networks}


def _without_interpolation(value: Any) -> Any:
    """`docker compose` expands `$VAR` and `${VAR}` in every string; `$$` is a literal `$`."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {k: _without_interpolation(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_interpolation(v) for v in value]
    return value


def render_compose(spec: StackSpec, features: EdgeFeatures = BASELINE) -> str:
    """compose.yaml for containers on one host."""
    return _document(compose_model(spec, features))


def render_swarm_compose(
    spec: StackSpec, config_files: list[str], names: Mapping[str, str], http3: bool = False
) -> str:
    """compose.yaml for Swarm services: HAProxy's config file names, and each secret's and config's name."""
    return _document(swarm_compose_model(spec, config_files, names, http3))


def _document(model: dict[str, Any]) -> str:
    document = _without_interpolation(model)
    body = yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=120)
    return f"# {GENERATED_HEADER}\n{body}"
