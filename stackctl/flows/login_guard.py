"""`stackctl guard unban`: lift a login ban in every edge node's HAProxy that this node can reach."""

from __future__ import annotations

import time
from dataclasses import dataclass

from stackctl.config.layout import StackPaths
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.errors import InvalidInput, OperationFailed
from stackctl.flows.edges import Edges
from stackctl.haproxy.guard_table import Ban, forget, shown_address, table_key
from stackctl.haproxy.runtime_api import SOCKET_NAME


@dataclass(frozen=True)
class Lifted:
    site: str
    node: str
    address: str  # as the table shows it
    held: Ban | None  # what the table held for the address, or None

    def describe(self, several_nodes: bool) -> str:
        address = self.address
        where = f"{self.site} on {self.node}" if several_nodes else self.site
        if self.held is not None and self.held.seconds_left > 0:
            return f"{where}: the ban on {address} is lifted, and its failed logins are forgotten"
        if self.held is not None and self.held.failures > 0:
            return f"{where}: {address} was not banned; its {self.held.failures} failed logins are forgotten"
        return f"{where}: {address} had no failed logins; nothing to lift"


def guarded_sites(spec: StackSpec, domain: str | None) -> list[Site]:
    """The sites whose login guard is on: the one named by --site, or every one."""
    if domain is not None:
        site = spec.site(domain)
        if site.login_guard is None:
            raise InvalidInput(
                f"--site {domain}: its login guard is off (guard.login), so it bans no one",
                "name a site whose guard is on, or leave out --site",
            )
        return [site]
    sites = [site for site in spec.sites if site.login_guard is not None]
    if not sites:
        raise InvalidInput("no site of this stack has its login guard on, so none bans anyone", "see guard.login")
    return sites


def unban(paths: StackPaths, spec: StackSpec, edges: Edges, address: str, domain: str | None) -> list[Lifted]:
    try:
        address = shown_address(table_key(address))  # as the table shows it: 0:0::7 is ::7
    except ValueError:
        raise InvalidInput(
            f"{address!r} is not an IP address", "give it as stackctl status shows it, e.g. 203.0.113.7 or 2001:db8::7"
        ) from None
    sites = guarded_sites(spec, domain)
    engine = edges.engine(spec)
    lifted, unreachable = [], []
    for node, folder in engine.edge_runtime_sockets(spec, paths):
        if folder is None:
            unreachable.append(node)
            continue
        sock = folder / SOCKET_NAME
        for site in sites:
            held = forget(sock, site.guard_table, address, int(time.time()))
            lifted.append(Lifted(site.domain, node, address, held))
    if unreachable:
        done = f"; lifted on this node: {', '.join(sorted({entry.node for entry in lifted}))}" if lifted else ""
        raise OperationFailed(
            f"the ban on {address} could not be lifted on {', '.join(unreachable)}: each edge node's HAProxy "
            f"counts failed logins on its own, and its runtime API is reachable only there{done}",
            f"run stackctl guard unban {address} on that node too",
        )
    return lifted
