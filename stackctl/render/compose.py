"""compose.yaml for the stack (design.md section 5): the typed service model serialized. Valid for
`docker compose` as well as for stackctl."""

from __future__ import annotations

from typing import Any

import yaml

from stackctl.config.spec import StackSpec
from stackctl.render.haproxy import NO_HTTP3, Http3
from stackctl.render.header import GENERATED_HEADER
from stackctl.render.services import NETWORK, Healthcheck, PortMapping, ServiceModel, network_model, stack_services


def _healthcheck(check: Healthcheck) -> dict[str, Any]:
    return {
        "test": list(check.test),
        "interval": f"{check.interval_s}s",
        "timeout": f"{check.timeout_s}s",
        "retries": check.retries,
        "start_period": f"{check.start_period_s}s",
    }


def _port(mapping: PortMapping) -> str:
    text = f"{mapping.host_ip}:{mapping.host_port}:{mapping.container_port}"
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


def compose_model(spec: StackSpec, http3: Http3 = NO_HTTP3) -> dict[str, Any]:
    """The compose document as data."""
    network = network_model(spec)
    services = stack_services(spec, http3.enabled)
    networks: dict[str, Any] = {
        NETWORK: {
            "name": network.name,
            "driver": "bridge",
            "ipam": {"config": [{"subnet": network.subnet, "gateway": network.gateway}]},
        }
    }
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


def render_compose(spec: StackSpec, http3: Http3 = NO_HTTP3) -> str:
    document = _without_interpolation(compose_model(spec, http3))
    body = yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=120)
    return f"# {GENERATED_HEADER}\n{body}"
