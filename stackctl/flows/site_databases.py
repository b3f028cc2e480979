"""A database and a user of its own for each PhotoPrism site of the sites form, created on the running
MariaDB through the client in its container, idempotently. The SQL reaches the client on its stdin
from a 0600 file in run/ (0700): no password appears in a command line or an environment."""

from __future__ import annotations

from stackctl.config.layout import StackPaths
from stackctl.config.secrets import GENERATED_PASSWORD, read_site_secrets
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.errors import InvalidInput, OperationFailed
from stackctl.engines.base import ContainerInfo, Engine, Report
from stackctl.engines.model import Service
from stackctl.flows.dumps import MARIADB_RESTORE
from stackctl.flows.fed import run_fed


def sites_needing_databases(spec: StackSpec, wanted: list[Service], ours: dict[str, ContainerInfo]) -> list[Site]:
    """Sites whose container is new or changes (a new password included): only then is the server asked."""
    if spec.database.kind != "mariadb":
        return []
    by_name = {s.name: s for s in wanted}
    result = []
    for site in spec.sites:
        if site.photoprism is None or site.legacy or site.service is None:
            continue  # the single-site form's database is MariaDB's own MARIADB_DATABASE
        existing = ours.get(site.service)
        service = by_name.get(site.service)
        if existing is None or service is None or not service.matches(existing.config_hash):
            result.append(site)
    return result


def _statements(site: Site, password: str) -> str:
    name = site.database_name
    return "\n".join(
        (
            f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;",
            f"CREATE USER IF NOT EXISTS '{name}'@'%' IDENTIFIED BY '{password}';",
            f"ALTER USER '{name}'@'%' IDENTIFIED BY '{password}';",
            f"GRANT ALL PRIVILEGES ON `{name}`.* TO '{name}'@'%';",
        )
    )


def _script(paths: StackPaths, sites: list[Site]) -> str:
    parts = []
    for site in sites:
        password = read_site_secrets(paths.root, site.secrets_file)["PHOTOPRISM_DATABASE_PASSWORD"]
        if not GENERATED_PASSWORD.fullmatch(password):
            raise InvalidInput(
                f"{site.secrets_file}: PHOTOPRISM_DATABASE_PASSWORD must be 16 to 128 letters, digits, '-' or '_'",
                'delete the file and run "stackctl init" to generate one',
            )
        parts.append(_statements(site, password))
    return "\n".join([*parts, "FLUSH PRIVILEGES;", ""])


def ensure_site_databases(
    engine: Engine, paths: StackPaths, spec: StackSpec, sites: list[Site], report: Report
) -> None:
    """Through MariaDB's container on this node (on a Swarm, its task must run here)."""
    if not sites:
        return
    if not engine.runs_here(spec, "mariadb"):
        raise OperationFailed(
            "MariaDB runs on another node, so stackctl cannot create the sites' databases from here",
            "run stackctl up on the node labeled stackctl.data=true",
        )
    run_sql(engine, paths, spec, _script(paths, sites))
    report(f"database and user ready for {', '.join(s.domain for s in sites)}")


def run_sql(engine: Engine, paths: StackPaths, spec: StackSpec, script: str) -> None:
    """SQL as MariaDB's root, through the client in its container (passwords in it stay off every
    command line)."""
    run_fed(engine, paths, spec, "mariadb", ["sh", "-c", MARIADB_RESTORE], script)
