"""`stackctl secrets rotate stats`: the stats page's password changed by a checked reload of the running
HAProxy (haproxy.cfg holds its bcrypt hash), so no request fails. secrets/haproxy.env and the running
HAProxy change together: the new password must log in and the old one must not, or both go back."""

from __future__ import annotations

import secrets

from stackctl.config.layout import StackPaths
from stackctl.config.secrets import read_env_file, write_env_file
from stackctl.config.spec import StackSpec
from stackctl.core.errors import OperationFailed, StackctlError
from stackctl.core.fsio import PRIVATE_FILE_MODE, atomic_write
from stackctl.engines.base import Engine, Report
from stackctl.engines.model import services
from stackctl.flows.edges import Edges
from stackctl.flows.generated import generated_states, write_changed
from stackctl.flows.haproxy_config import Reloader, check_candidate, reload_confirmed
from stackctl.flows.rotate import check_engine, running_stack
from stackctl.haproxy.runtime_api import RuntimeApi
from stackctl.health.login import stats_login_status

STATS_KEY = "STATS_PASSWORD"


def rotate_stats(paths: StackPaths, spec: StackSpec, edges: Edges, report: Report) -> None:
    check_engine(spec)
    live = running_stack(paths, spec, edges, ("haproxy",))
    engine, runtime = live.engine, live.runtime
    haproxy = services(spec, paths, only="haproxy")[0]
    if haproxy.made_with_legacy_environment(live.containers["haproxy"].config_hash):
        raise OperationFailed(
            "HAProxy's container was made by an earlier stackctl, with the stats password in its environment, "
            "so a new password would make stackctl up recreate it",
            "nothing was changed; the rotation works once HAProxy's container is made anew (the next stackctl "
            "upgrade of haproxy)",
        )
    path = paths.secrets / "haproxy.env"
    old_text, values = path.read_bytes(), read_env_file(path)
    old, new = values.get(STATS_KEY, ""), secrets.token_urlsafe(24)
    write_env_file(path, {**values, STATS_KEY: new})
    try:
        _reload(engine, runtime, paths, spec, report)
        if stats_login_status(spec.ports.stats, new) != 200 or stats_login_status(spec.ports.stats, old) != 401:
            raise OperationFailed("HAProxy's stats page did not take the new password", "look at HAProxy's log")
    except StackctlError as e:
        atomic_write(path, old_text, PRIVATE_FILE_MODE)
        try:
            _reload(engine, runtime, paths, spec, report)
        except StackctlError as undo:
            raise OperationFailed(
                f"the stats password did not change ({e.message}), and HAProxy did not take the old one back "
                f"({undo.message})",
                "secrets/haproxy.env holds the old password again; run stackctl up",
            ) from e
        raise OperationFailed(
            f"the stats password did not change: {e.message}",
            f"the old password is back in secrets/haproxy.env and in HAProxy; {e.hint}",
        ) from e
    report("HAProxy's stats page takes the new password, and no longer the old one")


def _reload(engine: Engine, runtime: RuntimeApi, paths: StackPaths, spec: StackSpec, report: Report) -> None:
    """haproxy.cfg rendered from the secrets as they are now, checked, written and reloaded."""
    states = generated_states(paths, spec, engine)
    haproxy = services(spec, paths, only="haproxy")[0]
    check_candidate(engine, paths, haproxy, states, report)
    write_changed(paths, states)
    reload_confirmed(Reloader(engine, runtime, haproxy.container_name), paths, states, report)
