"""Replace a stack's certificate: on disk, and live on a running HAProxy with zero failed requests.
Any failure puts the old files back and keeps the old certificate served."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from cryptography.hazmat.primitives.asymmetric import ec

from stackctl.certs.issuers import Issued
from stackctl.certs.keys import key_pem
from stackctl.certs.store import CertStore, pem_of
from stackctl.engine.client import connect
from stackctl.engine.hotswap import ApiUnavailable, reload_haproxy, swap_via_runtime_api
from stackctl.engine.model import services
from stackctl.engine.preflight import prepare_host_folders, validate_haproxy_config
from stackctl.engine.runtime_api import socket_path
from stackctl.errors import OperationFailed, StackctlError
from stackctl.generated import rendered
from stackctl.layout import StackPaths
from stackctl.probe import served_serial
from stackctl.renewals import record
from stackctl.spec import StackSpec
from stackctl.stack_target import probe_target

SERVED_WAIT_S = 5.0
# Test-only: simulates a CA handing out a broken certificate, a fault that cannot be produced for real.
TEST_FAULT_ENV = "STACKCTL_TEST_FAULT"


@dataclass(frozen=True)
class Replaced:
    issued: Issued
    source: str
    path: str  # runtime-api | reload | disk
    duration_s: float
    old_serial: str | None
    new_serial: str


def _apply_test_fault(issued: Issued) -> Issued:
    fault = os.environ.get(TEST_FAULT_ENV)
    if fault == "mismatched-key":
        return Issued(issued.leaf, issued.chain, key_pem(ec.generate_private_key(ec.SECP256R1())), issued.notes)
    return issued


def _running_haproxy(spec: StackSpec) -> tuple[docker.DockerClient, str] | None:
    try:
        client = connect(timeout=10)
        container = client.containers.get(f"{spec.name}-haproxy-1")
    except (StackctlError, docker.errors.NotFound):
        return None
    return (client, container.name or "") if container.status == "running" else None


class _Swapper:
    def __init__(self, paths: StackPaths, spec: StackSpec, client: docker.DockerClient, container: str) -> None:
        self.paths, self.spec, self.client, self.container = paths, spec, client, container
        cfg = rendered(paths, spec)["compose/haproxy/haproxy.cfg"]
        self.services = services(spec, paths, cfg)
        self.haproxy = next(s for s in self.services if s.name == "haproxy")
        self.path = "runtime-api"

    def hand_over(self) -> None:
        prepare_host_folders(self.services, self.paths.run)

    def swap(self, bundle: str) -> None:
        """Sets self.path to the mechanism used, also when it then fails."""
        try:
            self.path = "runtime-api"
            swap_via_runtime_api(socket_path(self.paths.run), self.spec.domain, bundle)
        except ApiUnavailable:
            self.path = "reload"
            validate_haproxy_config(self.client, self.haproxy, self.paths.haproxy_cfg.absolute())
            reload_haproxy(self.client, self.container)


def _wait_served(paths: StackPaths, spec: StackSpec, serial: str) -> None:
    target = probe_target(spec, CertStore(paths.certs), timeout=2.0)
    deadline = time.monotonic() + SERVED_WAIT_S
    seen = None
    while time.monotonic() < deadline:
        seen = served_serial(target)
        if seen == serial:
            return
        time.sleep(0.05)
    raise OperationFailed(f"HAProxy still serves serial {seen} instead of {serial}")


def replace_certificate(
    paths: StackPaths, spec: StackSpec, obtain: Callable[[], tuple[Issued, str]], reason: str
) -> Replaced:
    """Obtain a certificate, write it, and when the stack runs, serve it and prove it is served."""
    started = time.monotonic()
    store = CertStore(paths.certs)
    old = store.read_site(spec.domain)
    old_serial = format(old.leaf.serial_number, "x") if old else None
    snapshot = store.snapshot(spec.domain)
    running = _running_haproxy(spec)
    issued, source = obtain()
    issued = _apply_test_fault(issued)
    new_serial = format(issued.leaf.serial_number, "x")
    entry = {
        "time": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "domain": spec.domain,
        "names": list(spec.names),
        "reason": reason,
        "old_serial": old_serial,
        "new_serial": new_serial,
    }
    store.write_site(spec.domain, issued.leaf, issued.chain, issued.key_pem, source)
    if running is None:
        result = Replaced(issued, source, "disk", time.monotonic() - started, old_serial, new_serial)
        record(paths, {**entry, "path": "disk", "duration_s": round(result.duration_s, 3), "result": "ok"})
        return result
    swapper = _Swapper(paths, spec, *running)
    try:
        swapper.hand_over()
        swapper.swap((pem_of([issued.leaf, *issued.chain]) + issued.key_pem).decode())
        _wait_served(paths, spec, new_serial)
    except StackctlError as e:
        path = swapper.path
        _roll_back(store, snapshot, swapper, old_serial, paths, spec)
        duration = round(time.monotonic() - started, 3)
        record(paths, {**entry, "path": path, "duration_s": duration, "result": f"failed: {e.message}"})
        raise OperationFailed(
            f"failed to replace the certificate for {spec.domain}: {e.message}",
            f"the previous certificate (serial {old_serial}) is still on disk and served",
        ) from e
    result = Replaced(issued, source, swapper.path, time.monotonic() - started, old_serial, new_serial)
    record(paths, {**entry, "path": swapper.path, "duration_s": round(result.duration_s, 3), "result": "ok"})
    return result


def _roll_back(
    store: CertStore,
    snapshot: dict[Path, tuple[bytes, int] | None],
    swapper: _Swapper,
    old_serial: str | None,
    paths: StackPaths,
    spec: StackSpec,
) -> None:
    store.restore(snapshot)
    swapper.hand_over()
    if old_serial is None:
        return
    target = probe_target(spec, store, timeout=2.0)
    if served_serial(target) == old_serial:
        return
    old = store.bundle(spec.domain).read_text()
    try:
        swapper.swap(old)
    except StackctlError:
        reload_haproxy(swapper.client, swapper.container)
