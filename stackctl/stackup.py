"""The steps of `stackctl up`, in an order that changes nothing until every check has passed."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stackctl.certs.acme_account import AccountFiles, load_or_create_key
from stackctl.certs.keys import key_pem
from stackctl.certs.localca import temporary_self_signed
from stackctl.certs.manage import current_is_usable, issue, utcnow
from stackctl.certs.store import CertStore
from stackctl.engine.apply import ApplyResult, converge, ensure_network
from stackctl.engine.client import connect
from stackctl.engine.images import ensure_images
from stackctl.engine.model import network_name, services
from stackctl.engine.ownership import HASH_LABEL, project_containers
from stackctl.engine.preflight import check_ports_free, prepare_host_folders, validate_haproxy_config
from stackctl.engine.waits import Deadline, wait_http_answers
from stackctl.errors import InvalidInput
from stackctl.fsio import atomic_write
from stackctl.generated import generated_states, write_changed
from stackctl.spec import StackSpec
from stackctl.stack_target import probe_address

if TYPE_CHECKING:
    from stackctl.context import Context


TEMPORARY_SOURCE = "temporary"


def acme_certificate_in_place(store: CertStore, spec: StackSpec) -> bool:
    site = store.read_site(spec.domain)
    return site is not None and site.source == "acme" and current_is_usable(store, spec, utcnow())


@dataclass
class UpOutcome:
    project: str
    applied: ApplyResult


class _PullProgress:
    """A rich progress bar per image, bytes summed over its layers; created on the first event."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.layers: dict[str, dict[str, tuple[int, int]]] = {}
        self.tasks: dict[str, object] = {}
        self.progress: object | None = None

    def __call__(self, image: str, layer: str, done: int, total: int) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

        if self.progress is None:
            self.progress = Progress(TextColumn("pulling {task.description}"), BarColumn(), DownloadColumn(),
                                     console=self.ctx.console, transient=False)  # fmt: skip
            self.progress.start()
        assert isinstance(self.progress, Progress)
        if image not in self.tasks:
            self.tasks[image] = self.progress.add_task(image, total=None)
        self.layers.setdefault(image, {})[layer] = (done, total)
        layers = self.layers[image].values()
        self.progress.update(self.tasks[image], completed=sum(d for d, _ in layers), total=sum(t for _, t in layers))  # type: ignore[arg-type]

    def stop(self) -> None:
        from rich.progress import Progress

        if isinstance(self.progress, Progress):
            self.progress.stop()


def bring_up(ctx: Context, timeout: float) -> UpOutcome:
    deadline = Deadline(timeout)
    paths = ctx.paths
    spec = ctx.load_spec()
    store = CertStore(paths.certs)
    if spec.tls.source == "acme":
        load_or_create_key(AccountFiles(paths.certs))  # haproxy.cfg answers challenges with its thumbprint
    states = generated_states(paths, spec)  # validates secrets too
    if spec.tls.source == "import" and store.read_site(spec.domain) is None:
        raise InvalidInput("tls.source is import but no certificate was imported", "run: stackctl certs import FILE")
    client = connect()
    cfg_text = next(s.desired for s in states if s.name.endswith("haproxy.cfg"))
    wanted = services(spec, paths, cfg_text)
    progress = _PullProgress(ctx)
    try:
        ensure_images(client, [s.image for s in wanted], spec.pull, progress)
    finally:
        progress.stop()
    ours = project_containers(client, spec.name, paths.compose_dir)
    check_ports_free(client, wanted, ours)

    if spec.tls.source == "acme":
        if not acme_certificate_in_place(store, spec):
            # HAProxy needs some certificate to start and answer the challenge; the real one follows live.
            leaf, key = temporary_self_signed(spec.names, spec.tls.key_type, utcnow())
            store.write_site(spec.domain, leaf, [], key_pem(key), TEMPORARY_SOURCE)
    elif not current_is_usable(store, spec, utcnow()):
        issued, source = issue(store, spec, utcnow(), ctx.edge.issuer_for)
        ctx.say(f"Issued a certificate for {', '.join(spec.names)} ({source}), serial {issued.leaf.serial_number:x}")
    haproxy = next(s for s in wanted if s.name == "haproxy")
    prepare_host_folders(wanted, paths.run)
    existing_haproxy = ours.get("haproxy")
    if existing_haproxy is None or existing_haproxy.labels.get(HASH_LABEL) != haproxy.config_hash:
        candidate = paths.haproxy_cfg.absolute().with_name(".haproxy.cfg.candidate")
        atomic_write(candidate, cfg_text)
        try:
            ctx.say(f"checking haproxy.cfg with {haproxy.image}")
            validate_haproxy_config(client, haproxy, candidate)
        finally:
            candidate.unlink(missing_ok=True)
    for name in write_changed(paths, states):
        ctx.say(f"wrote {name}")

    subnet = ipaddress.ip_network(spec.network.subnet)
    ensure_network(client, network_name(spec), spec.name, str(subnet), str(next(subnet.hosts())))
    applied = converge(client, spec.name, network_name(spec), wanted, paths.compose_dir, deadline, ctx.say)
    wait_http_answers(probe_address(spec), spec.ports.http, spec.domain, deadline)
    return UpOutcome(spec.name, applied)
