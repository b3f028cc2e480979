"""The status snapshot: plain dataclasses, and the verdict drawn from them (pure)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from stackctl.haproxy.runtime_api import ProxyStat as BackendStatus
from stackctl.health.probe import ProbeResult

__all__ = ["BackendStatus", "CertificateStatus", "ContainerStatus", "StatusSnapshot", "UpgradeStatus", "assess"]


@dataclass(frozen=True)
class ContainerStatus:
    service: str
    name: str
    image: str | None
    state: str  # running, exited, created, restarting, missing
    health: str | None  # healthy, unhealthy, starting, or None without a health check
    uptime_s: float | None
    restarts: int
    exit_code: int | None


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

    def problems(self) -> list[str]:
        return assess(self)

    @property
    def healthy(self) -> bool:
        return not self.problems()

    @property
    def verdict(self) -> str:
        problems = self.problems()
        if not problems:
            return "healthy"
        running = [c for c in self.containers or [] if c.state == "running"]
        word = "down" if self.containers is not None and not running else "degraded"
        return f"{word}: {'; '.join(problems)}"

    def as_json(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "verdict": self.verdict,
            "stack": self.stack,
            "domain": self.domain,
            "containers": None if self.containers is None else [asdict(c) for c in self.containers],
            "backends": None if self.backends is None else [asdict(b) for b in self.backends],
            "certificates": None if self.certificates is None else [asdict(c) for c in self.certificates],
            "probe": None if self.probe is None else self.probe.as_json(),
            "drift": self.drift,
            "upgrade": None if self.upgrade is None else asdict(self.upgrade),
            "unknown": self.unknown,
            "generated_at": self.generated_at,
        }


def _container_problem(c: ContainerStatus) -> str | None:
    if c.state == "missing":
        return f"{c.service} missing"
    if c.state != "running":
        code = f" (exit code {c.exit_code})" if c.exit_code not in (None, 0) else ""
        return f"{c.service} {c.state}{code}"
    if c.health in ("unhealthy", "starting"):
        return f"{c.service} {c.health}"
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
    if s.drift:
        problems.append(f"drift: {', '.join(s.drift)} differ from stack.yaml (run stackctl up)")
    for source, reason in s.unknown.items():
        if source != "containers":
            problems.append(f"{source} unknown ({reason})")
    return problems
