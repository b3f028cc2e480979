"""The status snapshot: plain dataclasses, and the verdict drawn from them (pure)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from stackctl.engines.status import RESTART_POLICY, ContainerStatus, LastExit
from stackctl.haproxy.guard_table import Ban
from stackctl.haproxy.runtime_api import ProxyStat as BackendStatus
from stackctl.health.probe import ProbeResult

__all__ = [
    "BackendStatus", "CertificateStatus", "ContainerStatus", "LastExit", "SiteStatus", "StatusSnapshot",
    "UpgradeStatus", "assess",
]  # fmt: skip


@dataclass(frozen=True)
class CertificateStatus:
    """A stored certificate as `certs show --json` reports it, with its last renewal record."""

    domain: str
    names: list[str]
    source: str
    issuer: str
    serial: str
    key_type: str
    not_before: str
    not_after: str
    days_left: int
    renew_after: str
    due: bool
    fingerprint_sha256: str
    path: str
    last_renewal: dict[str, object] | None = None  # the history line as written (renewals.jsonl)
    challenge: str | None = None  # http-01 | dns-01 for an ACME stack, None otherwise


@dataclass(frozen=True)
class UpgradeStatus:
    """From upgrades.jsonl: the last upgrade or rollback, and what the last `upgrade --check` found."""

    last: dict[str, object] | None
    waiting: list[str] | None  # None when no check ran yet
    checked_at: str | None

    def describe(self) -> str:
        parts = []
        if self.last is not None:
            parts.append(f"last: {self.last.get('service')} {self.last.get('result')} at {self.last.get('time')}")
        if self.waiting:
            parts.append(f"update waiting: {', '.join(self.waiting)} (checked {self.checked_at})")
        elif self.waiting is not None:
            parts.append(f"no update waiting (checked {self.checked_at})")
        return "; ".join(parts) or "no upgrade yet"


@dataclass(frozen=True)
class SiteStatus:
    """One site's row: its backend's health, its certificate, its HTTPS check; None is unknown."""

    domain: str
    kind: str  # photoprism | upstream
    backend: str
    service: str | None  # its container's service, None for an upstream reached by address
    backend_status: str | None  # UP, DOWN, MAINT, ...
    certificate_days_left: int | None  # None: no certificate (or unknown, see certificate_known)
    probe: ProbeResult | None
    certificate_known: bool = True
    guarded: bool = False  # login throttling is on for this site
    banned: list[Ban] | None = None  # the addresses its login guard refuses now; None: unknown or off

    def problem(self) -> str | None:
        """What is wrong with this site, in a few words, or None."""
        if self.certificate_days_left is None and self.certificate_known:
            return "no certificate (run stackctl certs create --site " + self.domain + ")"
        if self.certificate_days_left is not None and self.certificate_days_left < 0:
            return "certificate expired"
        if self.backend_status not in (None, "UP", "no"):
            return f"backend {self.backend_status}"
        failed = self.probe.failures() if self.probe is not None else []
        if failed:
            return f"HTTPS {failed[0].name} failed ({failed[0].detail})"
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "kind": self.kind,
            "backend": self.backend,
            "service": self.service,
            "backend_status": self.backend_status,
            "certificate_days_left": self.certificate_days_left,
            "probe": None if self.probe is None else self.probe.as_json(),
            "healthy": self.problem() is None,
            "login_guard": None
            if not self.guarded
            else {"banned": None if self.banned is None else [ban.as_json() for ban in self.banned]},
        }


@dataclass
class StatusSnapshot:
    stack: str
    domain: str
    generated_at: str
    containers: list[ContainerStatus] | None = None
    backends: list[BackendStatus] | None = None
    certificates: list[CertificateStatus] | None = None
    probe: ProbeResult | None = None
    drift: list[str] | None = None
    unknown: dict[str, str] = field(default_factory=dict)  # source -> why it is unknown
    upgrade: UpgradeStatus | None = None
    sites: list[SiteStatus] | None = None  # every site; the keys above keep their meaning for the first
    # The first site's HTTPS check at each address the stack answers on, when there are several: a
    # Swarm's edge nodes, or each address of ports.bind.
    edges: dict[str, ProbeResult] | None = None
    on_edge_nodes: bool = False  # Swarm: `edges` are edge nodes, and the containers are tasks

    def problems(self) -> list[str]:
        return assess(self)

    def notices(self) -> list[str]:
        """What is fine now but worth knowing: a service that restarted in the last 10 minutes."""
        notices = []
        for c in self.containers or []:
            if c.restarted_recently() and c.last_exit is not None:
                times = f" {c.restarts} times, last" if c.restarts > 1 else ""
                notices.append(f"{c.service} restarted{times} {c.last_exit.describe()}")
        return notices

    @property
    def healthy(self) -> bool:
        return not self.problems()

    @property
    def verdict(self) -> str:
        problems, notices = self.problems(), self.notices()
        noted = f"; noted: {'; '.join(notices)}" if notices else ""
        if not problems:
            return f"healthy{noted}"
        running = [c for c in self.containers or [] if c.state == "running"]
        word = "down" if self.containers is not None and not running else "degraded"
        return f"{word}: {'; '.join(problems)}{noted}"

    def as_json(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "verdict": self.verdict,
            "notices": self.notices(),
            "stack": self.stack,
            "domain": self.domain,
            "containers": None if self.containers is None else [asdict(c) for c in self.containers],
            "backends": None if self.backends is None else [asdict(b) for b in self.backends],
            "certificates": None if self.certificates is None else [asdict(c) for c in self.certificates],
            "probe": None if self.probe is None else self.probe.as_json(),
            "drift": self.drift,
            "upgrade": None if self.upgrade is None else asdict(self.upgrade),
            "sites": None if self.sites is None else [site.as_json() for site in self.sites],
            "edges": None if self.edges is None else {a: r.as_json() for a, r in self.edges.items()},
            "unknown": self.unknown,
            "generated_at": self.generated_at,
        }


def _container_problem(c: ContainerStatus) -> str | None:
    if c.state == "missing":
        return f"{c.service} missing"
    if c.node is not None and c.state != "running":
        return f"{c.service} task on {c.node} {c.state}" + (f" ({c.error})" if c.error else "")
    if c.state == "restarting":  # Docker waits out its back-off between two attempts
        last = f", last exit {c.last_exit.describe()}" if c.last_exit is not None else ""
        return f"{c.service} keeps restarting ({c.restarts} restarts{last})"
    if c.state != "running":
        code = f" (exit code {c.exit_code})" if c.exit_code not in (None, 0) else ""
        return f"{c.service} {c.state}{code}"
    if c.health in ("unhealthy", "starting"):
        return f"{c.service} {c.health}"
    if c.restart_policy not in (None, RESTART_POLICY):
        policy = f"restart policy {c.restart_policy}"
        return f"{c.service} may not be restarted after a crash or reboot ({policy}): run stackctl up"
    return None


def _certificate_problems(s: StatusSnapshot) -> list[str]:
    problems = []
    for cert in s.certificates or []:
        if cert.days_left < 0:
            problems.append(f"certificate for {cert.domain} expired")
        elif cert.due:
            problems.append(f"certificate due, expires in {cert.days_left} days")
    return problems


def assess(s: StatusSnapshot) -> list[str]:
    """What is wrong, most important first, each a few words."""
    problems: list[str] = []
    if "containers" in s.unknown:
        problems.append(f"Docker unreachable ({s.unknown['containers']})")
    elif s.containers is not None and all(c.state == "missing" for c in s.containers):
        # A stack that is not running: what the proxy or HTTPS would say adds nothing.
        return ["not running (never started, or down): run stackctl up", *_certificate_problems(s)]
    elif s.containers is not None:
        problems += [p for c in s.containers if (p := _container_problem(c))]
    if s.sites is not None and len(s.sites) > 1:
        # Several sites: each problem names the site at fault; the stack-wide checks below are the first site's.
        return [*problems, *_site_problems(s), *_drift_and_unknown(s)]
    for backend in s.backends or []:
        if backend.kind == "server" and backend.status not in ("UP", "no"):
            problems.append(f"backend {backend.proxy}/{backend.name} {backend.status}")
    problems += _certificate_problems(s)
    explained = bool(problems)  # a stopped container or a DOWN backend already explains failing requests
    if s.probe is not None:
        failed = s.probe.failures()
        if explained:
            failed = [c for c in failed if c.name in ("certificate", "tls_version", "served_certificate")]
        for check in failed:
            if check.name == "served_certificate":
                problems.append(f"served certificate is not the one on disk ({check.detail})")
            else:
                problems.append(f"HTTPS {check.name} failed ({check.detail})")
    return [*problems, *_drift_and_unknown(s)]


def _site_problems(s: StatusSnapshot) -> list[str]:
    problems = []
    services = {c.service: c for c in s.containers or []}
    for site in s.sites or []:
        container = services.get(site.service or "")
        if container is not None and _container_problem(container):
            problems.append(f"site {site.domain}: container {container.state}")  # the container line says more
        elif problem := site.problem():
            problems.append(f"site {site.domain}: {problem}")
    return problems


def _drift_and_unknown(s: StatusSnapshot) -> list[str]:
    where = "edge node" if s.on_edge_nodes else "address"
    problems = [f"{where} {address}: HTTPS failed" for address, r in (s.edges or {}).items() if not r.ok]
    if s.drift:
        problems.append(f"drift: {', '.join(s.drift)} differ from stack.yaml (run stackctl up)")
    for source, reason in s.unknown.items():
        if source != "containers":
            problems.append(f"{source} unknown ({reason})")
    return problems
