"""Checks and preparations before any container changes: host ports, host folders, haproxy -c."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from pathlib import Path

import docker
import docker.errors

from stackctl.config.settings import is_ipv6
from stackctl.config.subnets import NetworkSubnet
from stackctl.core.errors import InvalidInput, OperationFailed
from stackctl.engines.docker.client import DOCKER_ERRORS, docker_call, translate
from stackctl.engines.haproxy_build import HaproxyBuild, parse_haproxy_vv
from stackctl.engines.labels import PROJECT_LABEL
from stackctl.engines.model import Service
from stackctl.render.services import HAPROXY_CONFIG_DIR, HAPROXY_CONFIG_PATH, HAPROXY_SOCKET_DIR
from stackctl.render.swarm import STACK_NAMESPACE_LABEL


def _port_owner(client: docker.DockerClient, port: int) -> str | None:
    try:
        running = client.containers.list()
    except DOCKER_ERRORS:
        running = []  # only used to name the owner of a taken port; the port check itself already failed
    for container in running:
        for bindings in (container.ports or {}).values():
            if any(str(b.get("HostPort")) == str(port) for b in bindings or []):
                return f"container {container.name}"
    return _process_listening(port)


def _process_listening(port: int) -> str | None:
    """Best effort: the process holding a listening TCP socket on `port`, from /proc."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as handle:
            for line in list(handle)[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    if not inodes:
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue  # gone, or not ours to read
        for fd in fds:
            try:  # one descriptor closing meanwhile must not end the search of this process
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                with contextlib.suppress(OSError):
                    return f"process {Path(f'/proc/{pid}/comm').read_text().strip()} (pid {pid})"
                return f"process {pid}"
    return None


def check_ports_free(client: docker.DockerClient, services: list[Service], held_by_us: frozenset[int]) -> None:
    """Each host port a new container will publish must be free, unless one of ours holds it."""
    for service in services:
        for key, bindings in service.ports.items():
            for address, port in bindings:
                if port not in held_by_us and not key.endswith("/udp"):  # UDP: QUIC beside HAProxy's TCP port
                    _check_port_free(client, address, port)


def _check_port_free(client: docker.DockerClient, address: str, port: int) -> None:
    family = socket.AF_INET6 if is_ipv6(address) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:  # as Docker binds it: IPv6 only, beside an IPv4 binding
            probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            probe.bind((address, port))
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise OperationFailed(
                    f"failed to check port {address}:{port}: {e.strerror}",
                    "check ports.bind in stack.yaml: it must be an address of this host",
                ) from e
            owner = _port_owner(client, port)
            raise OperationFailed(
                f"port {port} on {address} is already in use" + (f" by {owner}" if owner else ""),
                "stop what uses it, or choose another port under ports: in stack.yaml",
            ) from None


def validate_haproxy_config(client: docker.DockerClient, haproxy: Service, candidate: Path) -> None:
    """Run `haproxy -c` in a one-off container of the image that will run the config; `candidate` is a
    folder that takes the place of HAProxy's configuration folder."""
    binds = [
        b.as_sdk() if b.target != HAPROXY_CONFIG_DIR else f"{candidate}:{HAPROXY_CONFIG_DIR}:ro"
        for b in haproxy.binds
        if b.target != HAPROXY_SOCKET_DIR
    ]
    try:
        client.containers.run(
            haproxy.image,
            command=["haproxy", "-c", "-f", HAPROXY_CONFIG_PATH],
            environment=haproxy.environment,
            volumes=binds,
            user=haproxy.options.get("user"),
            network_mode="none",
            labels={"com.docker.compose.oneoff": "True", "stackctl.purpose": "haproxy-check"},
            remove=True,
            stdout=True,
            stderr=True,
        )
    except docker.errors.ContainerError as e:
        raw = e.stderr if isinstance(e.stderr, bytes) else b""
        alerts = [line for line in raw.decode(errors="replace").splitlines() if "ALERT" in line]
        detail = alerts[0].split(" : ", 2)[-1].strip() if alerts else f"exit code {e.exit_status}"
        raise OperationFailed(
            f"{haproxy.image} rejects the HAProxy configuration: {detail}",
            "nothing was changed; fix the cause (a certificate in certs/haproxy/?) and run stackctl up again",
        ) from e
    except DOCKER_ERRORS as e:
        raise translate(f"check the HAProxy configuration with {haproxy.image}", e) from e


def haproxy_build(client: docker.DockerClient, image: str) -> HaproxyBuild:
    """`haproxy -vv` in a one-off container: whether the build has QUIC, OpenSSL's compatibility layer
    for it (which needs `limited-quic`), and the OpenSSL version it runs on."""
    try:
        output = client.containers.run(
            image, command=["haproxy", "-vv"], network_mode="none", remove=True, stdout=True, stderr=True,
            labels={"com.docker.compose.oneoff": "True", "stackctl.purpose": "haproxy-features"},
        )  # fmt: skip
    except DOCKER_ERRORS as e:
        raise translate(f"run haproxy -vv in {image}", e) from e
    return parse_haproxy_vv(output.decode(errors="replace"))


def check_networks(client: docker.DockerClient, services: list[Service]) -> None:
    """The user's networks an upstream is reached on exist: stackctl joins them, never creates them."""
    wanted = sorted({name for service in services for name in service.external_networks})
    if not wanted:
        return
    with docker_call("list the Docker networks"):
        present = {n.name for n in client.networks.list(names=wanted)}
    missing = [name for name in wanted if name not in present]
    if missing:
        raise InvalidInput(
            f"Docker network {missing[0]} (upstream.network in stack.yaml) does not exist",
            f"start the service it belongs to, or create it (docker network create {missing[0]}), or fix the name",
        )


def network_subnets(client: docker.DockerClient) -> list[NetworkSubnet]:
    with docker_call("list the Docker networks"):
        networks = client.networks.list()
    found = []
    for network in networks:
        labels = network.attrs.get("Labels") or {}
        stack = labels.get(PROJECT_LABEL) or labels.get(STACK_NAMESPACE_LABEL)
        for pool in (network.attrs.get("IPAM") or {}).get("Config") or []:
            if pool.get("Subnet"):
                found.append(NetworkSubnet(str(network.name), stack, str(pool["Subnet"])))
    return found


def address_on_network(client: docker.DockerClient, network: str, name: str) -> str | None:
    """The IPv4 address this host reaches the container called `name` (or with that alias) at on the
    bridge network `network`; None when there is none (an overlay network is not routed to this host)."""
    with docker_call(f"inspect the Docker network {network}"):
        try:
            found = client.networks.get(network)
        except docker.errors.NotFound:
            return None
    if found.attrs.get("Driver") != "bridge":
        return None
    for container_id, entry in (found.attrs.get("Containers") or {}).items():
        with docker_call("inspect a container on the upstream's network"):
            try:
                container = client.containers.get(container_id)
            except docker.errors.NotFound:
                continue
        settings = (container.attrs.get("NetworkSettings") or {}).get("Networks", {}).get(network) or {}
        names = {container.name, *(settings.get("Aliases") or ()), *(settings.get("DNSNames") or ())}
        address = str(entry.get("IPv4Address") or "").split("/")[0]
        if name in names and address:
            return address
    return None
