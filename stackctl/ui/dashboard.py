"""build_dashboard(snapshot) -> a rich renderable. Pure: no I/O, readable at 80 columns."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from stackctl.health.model import StatusSnapshot

GOOD = "green"
BAD = "red"
WARN = "yellow"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m" if minutes else f"{int(seconds)}s"


def _state_style(ok: bool | None) -> str:
    return GOOD if ok else (WARN if ok is None else BAD)


def _section(title: str) -> Text:
    return Text(title, style="bold")


def _containers(s: StatusSnapshot) -> RenderableType:
    if s.containers is None:
        return Text(f"  unknown: {s.unknown.get('containers', 'not gathered')}", style=WARN)
    swarm = any(c.node is not None for c in s.containers)
    errors = any(c.error for c in s.containers)
    table = Table(box=None, padding=(0, 1), pad_edge=False, show_edge=False)
    columns = ("service", "node", "state", "up") if swarm else ("service", "state", "health", "up", "restarts")
    for column in columns:
        table.add_column(column, no_wrap=True)
    table.add_column("image", overflow="ellipsis", no_wrap=True)
    if errors:
        table.add_column("error", overflow="fold")
    for c in s.containers:
        ok = c.state == "running" and c.health in (None, "healthy")
        state = Text(c.state if c.exit_code in (None, 0) else f"{c.state} ({c.exit_code})", style=_state_style(ok))
        if swarm:
            row: list[RenderableType] = [c.service, c.node or "-", state, _duration(c.uptime_s), c.image or "-"]
        else:
            row = [c.service, state, c.health or "-", _duration(c.uptime_s), str(c.restarts), c.image or "-"]
        if errors:
            row.append(Text(c.error or "", style=BAD))
        table.add_row(*row)
    return Group(Padding(table, (0, 0, 0, 2)), *_last_exits(s))


def _last_exits(s: StatusSnapshot) -> list[Text]:
    """A line per service that has ended before, in a warning colour when it restarted lately."""
    lines = []
    for c in s.containers or []:
        if c.last_exit is not None:
            style = WARN if c.restarted_recently() else "dim"
            lines.append(Text(f"  {c.service} last exited {c.last_exit.describe()}", style=style))
    return lines


def _edges(s: StatusSnapshot) -> RenderableType:
    if s.edges is None:
        return Text(f"  unknown: {s.unknown.get('edges', 'not gathered')}", style=WARN)
    lines = []
    for address, result in s.edges.items():
        mark = Text("ok  " if result.ok else "FAIL", style=GOOD if result.ok else BAD)
        lines.append(Text("  ") + mark + Text(f" {address}  {result.failed_text() if not result.ok else result.url}"))
    return Group(*lines)


def _backends(s: StatusSnapshot) -> RenderableType:
    if s.backends is None:
        return Text(f"  unknown: {s.unknown.get('haproxy', 'not gathered')}", style=WARN)
    table = Table(box=None, padding=(0, 1), pad_edge=False, show_edge=False)
    for column in ("proxy", "part", "status", "check", "now", "total", "req/s", "4xx", "5xx"):
        table.add_column(column, justify="right" if column in ("now", "total", "req/s", "4xx", "5xx") else "left")
    for b in s.backends:
        if b.proxy == "stats":
            continue
        ok = b.status in ("UP", "OPEN")
        table.add_row(
            b.proxy,
            b.name if b.kind == "server" else b.kind,
            Text(b.status, style=_state_style(ok)),
            b.check or "-",
            str(b.current_sessions),
            str(b.total_sessions),
            str(b.request_rate),
            str(b.responses_4xx),
            str(b.responses_5xx),
        )
    return Padding(table, (0, 0, 0, 2))


def _certificates(s: StatusSnapshot) -> RenderableType:
    if s.certificates is None:
        return Text(f"  unknown: {s.unknown.get('certificates', 'not gathered')}", style=WARN)
    if not s.certificates:
        return Text("  none yet (stackctl certs create)", style=WARN)
    lines = []
    for cert in s.certificates:
        ok = not cert.due and cert.days_left >= 0
        line = Text(f"  {cert.domain}: ")
        line.append(f"{cert.days_left} days left", style=_state_style(ok))
        source = f"{cert.source} over {cert.challenge}" if cert.challenge else cert.source
        line.append(f", renew from {cert.renew_after[:10]} ({source})")
        lines.append(line)
        last = cert.last_renewal
        if last:
            style = GOOD if last.get("result") == "ok" else BAD
            lines.append(
                Text(f"    last renewal {str(last.get('time', '?'))[:19]}: ", style="dim")
                + Text(str(last.get("result")), style=style)
                + Text(f" via {last.get('path', '?')} in {last.get('duration_s', '?')}s", style="dim")
            )
    return Group(*lines)


def _probe(s: StatusSnapshot) -> RenderableType:
    if s.probe is None:
        return Text(f"  unknown: {s.unknown.get('probe', 'not gathered')}", style=WARN)
    probe = s.probe
    negotiated = " ".join(part for part in (probe.tls_version, probe.tls_group, probe.alpn) if part)
    lines = [Text(f"  {probe.url}  {negotiated}".rstrip())]
    for check in probe.checks:
        mark = Text("ok  " if check.ok else "FAIL", style=GOOD if check.ok else BAD)
        lines.append(Text("  ") + mark + Text(f" {check.name}: {check.detail}"))
    return Group(*lines)


def _sites(s: StatusSnapshot) -> RenderableType:
    table = Table(box=None, padding=(0, 1), pad_edge=False, show_edge=False)
    for column in ("site", "app", "backend", "certificate", "https", "problem"):
        table.add_column(column, style="bold" if column == "site" else None)
    for site in s.sites or []:
        problem = site.problem()
        days = site.certificate_days_left
        https = "?" if site.probe is None else ("ok" if site.probe.ok else "FAIL")
        table.add_row(
            site.domain,
            site.kind,
            Text(site.backend_status or "?", style=_state_style(site.backend_status in ("UP", "no"))),
            Text("none" if days is None else f"{days} days", style=_state_style(days is not None and days >= 0)),
            Text(https, style=_state_style(https == "ok")),
            Text(problem or "", style=BAD),
        )
    return table


def _login_guard(s: StatusSnapshot) -> list[RenderableType]:
    """The addresses each guarded site's login throttle refuses now (on this node's HAProxy)."""
    guarded = [site for site in s.sites or [] if site.guarded]
    if not guarded:
        return []
    lines: list[RenderableType] = [Text(""), _section("Login guard (banned addresses)")]
    for site in guarded:
        prefix = f"  {site.domain}: " if len(s.sites or []) > 1 else "  "
        if site.banned is None:
            lines.append(Text(f"{prefix}unknown ({s.unknown.get('haproxy', 'no table; run stackctl up')})", style=WARN))
        elif not site.banned:
            lines.append(Text(f"{prefix}none"))
        for ban in site.banned or []:
            lines.append(
                Text(prefix)
                + Text(ban.address, style=WARN)
                + Text(f" for {_duration(ban.seconds_left)} more (a {_duration(ban.length_s)} ban, "
                       f"{ban.failures} failed logins; lift it: stackctl guard unban {ban.address})")
            )  # fmt: skip
    return lines


def build_dashboard(s: StatusSnapshot) -> RenderableType:
    verdict = Text(s.verdict, style=f"bold {(WARN if s.notices() else GOOD) if s.healthy else BAD}")
    several = s.sites is not None and len(s.sites) > 1
    header = f"{len(s.sites or [])} sites" if several else s.domain
    parts: list[RenderableType] = [
        Text(f"stackctl status: {s.stack} ({header})  at {s.generated_at}", style="dim"),
        verdict,
        Text(""),
        *((_section("Sites"), _sites(s), Text("")) if several else ()),
        _section("Services (Swarm tasks)" if s.on_edge_nodes else "Containers"),
        _containers(s),
        *(
            (Text(""), _section(f"{'Edge nodes' if s.on_edge_nodes else 'Addresses'} (HTTPS)"), _edges(s))
            if s.edges is not None or "edges" in s.unknown
            else ()
        ),
        Text(""),
        _section("HAProxy"),
        _backends(s),
        *_login_guard(s),
        Text(""),
        _section("Certificates"),
        _certificates(s),
        Text(""),
        _section(f"HTTPS ({s.domain})" if several else "HTTPS"),
        _probe(s),
    ]
    if s.upgrade is not None:
        parts += [Text(""), Text(f"Upgrades: {s.upgrade.describe()}", style=WARN if s.upgrade.waiting else "")]
    if s.drift:
        parts += [Text(""), Text(f"Drift: {', '.join(s.drift)} differ from stack.yaml", style=WARN)]
    elif "drift" in s.unknown:
        parts += [Text(""), Text(f"Drift: unknown ({s.unknown['drift']})", style=WARN)]
    return Group(*parts)
