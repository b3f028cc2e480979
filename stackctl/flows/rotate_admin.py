"""`stackctl secrets rotate admin`: a PhotoPrism site's admin password changed in PhotoPrism first (its
own `photoprism passwd`, fed on stdin), proven by a login through the stack's HTTPS, and only then
written to the secret file. PhotoPrism's container is then replaced beside the old one without a failed
request, so that its environment matches the file (PhotoPrism reads the variable only as the initial
password). A login that fails with the new password puts the old one back."""

from __future__ import annotations

import secrets

from stackctl.certs.store import CertStore
from stackctl.config.layout import StackPaths
from stackctl.config.secrets import read_env_file, write_env_file
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.clock import Deadline
from stackctl.core.errors import OperationFailed, StackctlError
from stackctl.engines.base import Engine, Report
from stackctl.flows.edges import Edges
from stackctl.flows.fed import run_fed
from stackctl.flows.handover import replace_beside
from stackctl.flows.rotate import check_rotatable, running_stack, verify_site
from stackctl.health.login import logs_in
from stackctl.health.target import probe_target

ADMIN_KEY = "PHOTOPRISM_ADMIN_PASSWORD"


def _set_in_photoprism(engine: Engine, paths: StackPaths, spec: StackSpec, site: Site, password: str) -> None:
    assert site.service is not None and site.photoprism is not None
    argv = ["photoprism", "passwd", site.photoprism.admin_user]
    run_fed(engine, paths, spec, site.service, argv, f"{password}\n{password}\n")  # new, then retyped


def rotate_admin(paths: StackPaths, spec: StackSpec, site: Site, edges: Edges, report: Report, timeout: float) -> None:
    check_rotatable(spec, site, "admin")
    assert site.photoprism is not None
    live = running_stack(paths, spec, edges, (site.service or "",))
    engine, runtime = live.engine, live.runtime
    secrets_path = paths.root / site.secrets_file
    values = read_env_file(secrets_path)
    old, new, user = values.get(ADMIN_KEY, ""), secrets.token_urlsafe(24), site.photoprism.admin_user
    target = probe_target(spec, site, CertStore(paths.certs))
    try:
        _set_in_photoprism(engine, paths, spec, site, new)
    except StackctlError as e:
        raise OperationFailed(f"PhotoPrism did not take the new admin password: {e.message}",
                              "nothing was changed; fix the cause and try again") from e  # fmt: skip
    if not logs_in(target, user, new):
        try:
            _set_in_photoprism(engine, paths, spec, site, old)
        except StackctlError as e:
            raise OperationFailed(
                f"{user} does not log in with the new password, and the old one could not be put back ({e.message})",
                f"set one with: docker exec -it <container> photoprism passwd {user}",
            ) from e
        raise OperationFailed(f"{user} does not log in with the new password", "the old password is back; "
                              "look at PhotoPrism's log, then try again")  # fmt: skip
    write_env_file(secrets_path, {**values, ADMIN_KEY: new})
    report(f"PhotoPrism's {user} logs in with the new password, which is in {site.secrets_file}")
    deadline = Deadline(timeout)
    try:
        replace_beside(engine, runtime, paths, spec, site, deadline, report)
    except StackctlError as e:
        raise OperationFailed(
            f"the new admin password works and is in {site.secrets_file}, but PhotoPrism's container still has "
            f"the old one as its initial password, so stackctl up will recreate it: {e.message}",
            "run stackctl up at a quiet moment",
        ) from e
    verify_site(paths, spec, site, deadline)
