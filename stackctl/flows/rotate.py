"""`stackctl secrets rotate`: what every rotation checks first, and a PhotoPrism site's database
password changed without a failed request. MariaDB first accepts the old and the new password (two
authentication methods on the user); the secret file gets the new one; a new PhotoPrism container with
it starts beside the running one and must become healthy (which proves the new password works);
HAProxy moves the site's traffic over; the old container stops; then MariaDB accepts the new password
only. Any failure before traffic moved puts the old password back everywhere."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.secrets import GENERATED_PASSWORD, read_env_file, write_env_file
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.clock import Deadline
from stackctl.core.errors import InvalidInput, OperationFailed, StackctlError
from stackctl.core.fsio import PRIVATE_FILE_MODE, atomic_write
from stackctl.engines.base import ContainerInfo, Engine, Report
from stackctl.engines.model import services
from stackctl.flows.edges import Edges
from stackctl.flows.handover import replace_beside
from stackctl.flows.site_databases import run_sql
from stackctl.haproxy.runtime_api import RuntimeApi, socket_path
from stackctl.health.probe import probe_until
from stackctl.health.target import probe_target

PASSWORD_KEY = "PHOTOPRISM_DATABASE_PASSWORD"


@dataclass(frozen=True)
class SecretChange:
    path: Path
    old_text: bytes  # put back byte for byte when the rotation is undone
    new_values: dict[str, str]


def _both(user: str, old: str, new: str) -> str:
    return (
        f"ALTER USER '{user}'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('{old}') "
        f"OR mysql_native_password USING PASSWORD('{new}');\nFLUSH PRIVILEGES;\n"
    )


def _only(user: str, password: str) -> str:
    return f"ALTER USER '{user}'@'%' IDENTIFIED BY '{password}';\nFLUSH PRIVILEGES;\n"


def check_engine(spec: StackSpec) -> None:
    refused = spec.capabilities.secret_rotation
    if refused is not None:
        raise InvalidInput(refused.rule, refused.hint)


def check_rotatable(spec: StackSpec, site: Site, what: str) -> None:
    check_engine(spec)
    if site.photoprism is None:
        raise InvalidInput(f"{site.domain} is not a PhotoPrism site: its app keeps its own passwords", "name a "
                           "PhotoPrism site with --site")  # fmt: skip
    if what == "admin":
        return
    if spec.database.kind != "mariadb":
        raise InvalidInput("database.kind is sqlite: a SQLite database has no password", "nothing to rotate")


def _changes(paths: StackPaths, site: Site, new: str) -> tuple[str, list[SecretChange]]:
    """The current password, and each secret file that holds it with the new one in its place: the
    site's own file, and for the single-site form also mariadb.env (MariaDB's initial setting, which
    `restore` creates a fresh database user from)."""
    files = [(paths.root / site.secrets_file, PASSWORD_KEY)]
    if site.legacy:
        files.append((paths.secrets / "mariadb.env", "MARIADB_PASSWORD"))
    changes = []
    old = read_env_file(files[0][0]).get(PASSWORD_KEY, "")
    if not GENERATED_PASSWORD.fullmatch(old):
        raise InvalidInput(f"{site.secrets_file}: {PASSWORD_KEY} must be 16 to 128 letters, digits, '-' or '_'",
                           "put back the generated password")  # fmt: skip
    for path, key in files:
        values = read_env_file(path)
        changes.append(SecretChange(path, path.read_bytes(), {**values, key: new}))
    return old, changes


def _check_mariadb_container(live: LiveStack, paths: StackPaths, spec: StackSpec, site: Site) -> None:
    """The single-site form changes mariadb.env, which MariaDB's container is made from: only a container
    whose hash leaves its init-only passwords out stays unchanged (an earlier stackctl hashed them)."""
    if not site.legacy:
        return
    label = live.containers["mariadb"].config_hash
    if not services(spec, paths, only="mariadb")[0].matches_whatever_init_only_env(label):
        raise OperationFailed(
            "MariaDB's container was made by an earlier stackctl, which counted its password in the "
            "container's settings, so a new password would make stackctl up recreate MariaDB",
            "nothing was changed; the rotation works once MariaDB's container is made anew (the next "
            "stackctl upgrade of mariadb, or stackctl down and up)",
        )


def rotate_database(
    paths: StackPaths, spec: StackSpec, site: Site, edges: Edges, report: Report, timeout: float
) -> None:
    check_rotatable(spec, site, "database")
    live = running_stack(paths, spec, edges, ("mariadb", site.service or ""))
    _check_mariadb_container(live, paths, spec, site)
    engine, runtime = live.engine, live.runtime
    new = secrets.token_urlsafe(24)
    old, changes = _changes(paths, site, new)
    user = site.database_name
    try:
        run_sql(engine, paths, spec, _both(user, old, new))
    except StackctlError as e:
        raise OperationFailed(f"MariaDB did not take the new password: {e.message}", "nothing was changed; "
                              "fix the cause (is MariaDB running?) and try again") from e  # fmt: skip
    report(f"MariaDB accepts the old and the new password of {user} while PhotoPrism moves over")
    deadline = Deadline(timeout)
    _switch(engine, runtime, paths, spec, site, changes, lambda: run_sql(engine, paths, spec, _only(user, old)),
            deadline, report)  # fmt: skip
    try:
        run_sql(engine, paths, spec, _only(user, new))
    except StackctlError as e:
        raise OperationFailed(
            f"PhotoPrism runs with the new password, but MariaDB still accepts the old one too: {e.message}",
            "run stackctl secrets rotate database again",
        ) from e
    report(f"MariaDB accepts only the new password of {user}")
    verify_site(paths, spec, site, deadline)


@dataclass(frozen=True)
class LiveStack:
    engine: Engine
    runtime: RuntimeApi
    containers: dict[str, ContainerInfo]  # by service, as they were when the rotation began


def running_stack(paths: StackPaths, spec: StackSpec, edges: Edges, needed: tuple[str, ...]) -> LiveStack:
    """The engine, HAProxy's runtime API and the containers, once the services a rotation needs run
    and the API answers (a container is replaced beside the old one through it)."""
    engine = edges.engine(spec)
    running = engine.containers(spec.name, paths.compose_dir)
    for service in needed:
        found = running.get(service)
        if found is None or found.status != "running":
            raise OperationFailed(
                f"{service} is not running, so its password cannot change now",
                "start the stack with stackctl up, then try again; nothing was changed",
            )
    runtime = edges.runtime(socket_path(paths.run))
    if not runtime.answers():
        raise OperationFailed(
            "HAProxy's runtime API does not answer, so traffic cannot move to a new container without a gap",
            "run stackctl up, then try again; nothing was changed",
        )
    return LiveStack(engine, runtime, running)


def _switch(
    engine: Engine, runtime: RuntimeApi, paths: StackPaths, spec: StackSpec, site: Site,
    changes: list[SecretChange], undo_sql: Callable[[], None], deadline: Deadline, report: Report,
) -> None:  # fmt: skip
    """The secret files, then the container replaced beside the old one; both undone on failure."""
    try:
        for change in changes:
            write_env_file(change.path, change.new_values)
        replace_beside(engine, runtime, paths, spec, site, deadline, report)
    except BaseException as e:
        for change in changes:
            atomic_write(change.path, change.old_text, PRIVATE_FILE_MODE)
        try:
            undo_sql()
        except StackctlError as undo:
            raise OperationFailed(
                f"the new PhotoPrism container did not take over ({_why(e)}), and MariaDB could not be set back "
                f"to the old password only ({undo.message})",
                "PhotoPrism runs with the old password, which still works; run the rotation again later",
            ) from e
        if isinstance(e, StackctlError):
            raise OperationFailed(
                f"the new PhotoPrism container did not take over: {e.message}",
                f"the old password is back everywhere and the site runs as before; {e.hint}",
            ) from e
        raise


def _why(error: BaseException) -> str:
    return error.message if isinstance(error, StackctlError) else type(error).__name__


def verify_site(paths: StackPaths, spec: StackSpec, site: Site, deadline: Deadline) -> None:
    target = probe_target(spec, site, CertStore(paths.certs))
    result = probe_until(target, max(deadline.left(), 5.0))
    if not result.ok:
        raise OperationFailed(
            f"the password changed, but {site.domain} does not pass the HTTPS check: {result.failed_text()}",
            f"run stackctl status; the new password is in {site.secrets_file}",
        )
