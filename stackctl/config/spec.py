"""stack.yaml -> a frozen, typed StackSpec. Every error names its key path and the rule it breaks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackctl.config import rules as rule
from stackctl.config.guard_spec import RequestLimits, login_guard, request_limits, site_exposure
from stackctl.config.notify_spec import NotifySettings, notify_settings
from stackctl.config.settings import (
    DATABASE_KINDS,
    ENGINE_CAPABILITIES,
    ENGINES,
    HAPROXY_LTS_IMAGE,
    LOG_MODES,
    PULL_POLICIES,
    BackupSettings,
    Capabilities,
    DatabaseSettings,
    EngineKind,
    Images,
    LogMode,
    NetworkSettings,
    PhotoprismSettings,
    Ports,
    PullPolicy,
    TlsProfile,
)
from stackctl.config.site_rules import parse_sites, photoprism_settings, site_names, tls_settings
from stackctl.config.sites import Site
from stackctl.config.subnets import name_subnet
from stackctl.core.errors import InvalidInput, SpecError
from stackctl.core.fsio import MiB, read_user_text
from stackctl.core.yamlload import parse_yaml


@dataclass(frozen=True)
class StackSpec:
    """The stack: what its sites share (ports, images, database, network, engine) and its sites, in
    stack.yaml's order. What acts on one site takes that `Site`."""

    network: NetworkSettings
    sites: tuple[Site, ...]
    name: str = "photoprism"
    ports: Ports = field(default_factory=Ports)
    images: Images = field(default_factory=Images)
    pull: PullPolicy = "missing"
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    engine: EngineKind = "docker"
    backup: BackupSettings | None = None  # a nightly backup for `schedule install`; None: none
    notify: NotifySettings | None = None  # where scheduled jobs report what needs a person
    limits: RequestLimits = field(default_factory=RequestLimits)  # request time and body size, by path
    tls_profile: TlsProfile = "intermediate"  # the top-level tls.profile: one TLS listener serves every site
    log: LogMode = "errors"  # HAProxy's access log: what did not end well, or every request

    @property
    def legacy(self) -> bool:
        """Written in the single-site form (top-level domain:), not with sites:."""
        return self.sites[0].legacy

    @property
    def first_site(self) -> Site:
        """The site listed first: the one `status` names the stack by, and the single-site form's only one."""
        return self.sites[0]

    def site(self, domain: str, given_as: str = "--site") -> Site:
        """The site named by its domain or one of its aliases; raises InvalidInput for another name,
        naming the argument it was `given_as`."""
        wanted = domain.lower().removesuffix(".")
        for site in self.sites:
            if wanted in site.names:
                return site
        known = ", ".join(s.domain for s in self.sites)
        raise InvalidInput(
            f"{given_as} {domain}: no such site in stack.yaml (sites: {known})", "give one of those domains"
        )

    @property
    def capabilities(self) -> Capabilities:
        """What the stack's engine can do (engines report the same record)."""
        return ENGINE_CAPABILITIES[self.engine]

    def site_url(self, site: Site) -> str:
        port = "" if self.ports.https == 443 else f":{self.ports.https}"
        return f"https://{site.domain}{port}/"


def _ports(section: rule.Section) -> Ports:
    ports = Ports(
        http=section.take("http", 80, rule.port),
        https=section.take("https", 443, rule.port),
        bind=section.take("bind", ("0.0.0.0",), rule.bind_addresses),
        stats=section.take("stats", 8404, rule.port),
        http3=section.take("http3", "auto", rule.tristate),
    )
    section.finish()
    if ports.http == ports.https:
        raise SpecError(section.key_path("https"), f"must differ from ports.http, both are {ports.http}")
    if ports.stats in (ports.http, ports.https):
        raise SpecError(section.key_path("stats"), f"must differ from ports.http and ports.https, got {ports.stats}")
    return ports


def spec_from_data(data: Any) -> StackSpec:
    """Validate parsed YAML into a StackSpec. Raises SpecError on the first broken rule."""
    top = rule.Section(data, "")
    if "sites" in top.raw and "domain" not in top.raw:
        return _sites_form(top)
    if "domain" not in top.raw:
        raise SpecError("domain", "is required, e.g. domain: photos.example.com (or list sites: instead)")
    name = top.take("name", "photoprism", rule.project_name)
    tls = tls_settings(top.section("tls"))
    tls_profile = tls.profile
    domain, aliases = site_names(top, tls)
    ports = _ports(top.section("ports"))
    wide = _stack_wide(top, name)
    photoprism = photoprism_settings(top.section("photoprism"), PhotoprismSettings())
    guard = login_guard(top.section("guard"), photoprism=True)
    exposure, allow = site_exposure(top, photoprism=True)
    first = Site(
        domain, aliases, tls, photoprism=photoprism, legacy=True, login_guard=guard, exposure=exposure, allow=allow
    )
    more: tuple[Site, ...] = ()
    if "sites" in top.raw:  # sites added to a single-site stack: the first one keeps its names
        more = parse_sites(top.section_list("sites"), top.raw.get("tls"), first)[1:]
    top.finish()
    return _checked(
        StackSpec(
            name=name,
            ports=ports,
            images=wide.images,
            pull=wide.pull,
            database=wide.database,
            network=wide.network,
            sites=(first, *more),
            engine=wide.engine,
            backup=wide.backup,
            notify=wide.notify,
            limits=wide.limits,
            tls_profile=tls_profile,
            log=wide.log,
        )
    )


@dataclass(frozen=True)
class _StackWide:
    images: Images
    pull: PullPolicy
    database: DatabaseSettings
    network: NetworkSettings
    engine: EngineKind
    backup: BackupSettings | None
    notify: NotifySettings | None
    limits: RequestLimits
    log: LogMode


def _backup(section: rule.Section) -> BackupSettings | None:
    if not section.raw:
        return None
    for key in ("to", "passphrase_file"):
        if key not in section.raw:
            raise SpecError(
                section.key_path(key), "is required when backup: is set",
                "e.g. backup: {to: /mnt/backups/photos, passphrase_file: /root/photos-backup.pass}",
            )  # fmt: skip
    backup = BackupSettings(
        to=section.take("to", "", rule.host_path),
        passphrase_file=section.take("passphrase_file", "", rule.host_path),
        keep=section.take("keep", BackupSettings.keep, rule.count(1, 1000)),
        with_originals=section.take("with_originals", False, rule.boolean),
    )
    section.finish()
    return backup


def _stack_wide(top: rule.Section, name: str) -> _StackWide:
    images_section = top.section("images")
    images = Images(
        haproxy=images_section.take("haproxy", HAPROXY_LTS_IMAGE, rule.image),
        photoprism=images_section.take("photoprism", Images.photoprism, rule.image),
        mariadb=images_section.take("mariadb", Images.mariadb, rule.image),
    )
    images_section.finish()
    pull: PullPolicy = top.take("pull", "missing", rule.choice(*PULL_POLICIES))
    db = top.section("database")
    database = DatabaseSettings(
        kind=db.take("kind", "mariadb", rule.choice(*DATABASE_KINDS)),
        path=db.take("path", "./database", rule.host_path),
    )
    db.finish()
    net = top.section("network")
    network = NetworkSettings(subnet=net.take("subnet", name_subnet(name), rule.subnet))
    net.finish()
    engine: EngineKind = top.take("engine", "docker", rule.choice(*ENGINES))
    backup, notify = _backup(top.section("backup")), notify_settings(top.section("notify"))
    limits = request_limits(top.section("limits"))
    log: LogMode = top.take("log", "errors", rule.choice(*LOG_MODES))
    return _StackWide(images, pull, database, network, engine, backup, notify, limits, log)


def _sites_form(top: rule.Section) -> StackSpec:
    for key in ("domain", "aliases", "photoprism", "guard", "exposure", "allow"):
        if key in top.raw:
            raise SpecError(
                key, "belongs in a site when stack.yaml lists sites:", f"move it into one of the sites (sites[0].{key})"
            )
    name = top.take("name", "photoprism", rule.project_name)
    tls_raw = top.raw.get("tls")
    tls_profile = tls_settings(top.section("tls")).profile  # the stack-wide defaults, valid on their own
    ports = _ports(top.section("ports"))
    wide = _stack_wide(top, name)
    sites = parse_sites(top.section_list("sites"), tls_raw)
    top.finish()
    return _checked(
        StackSpec(
            name=name,
            ports=ports,
            images=wide.images,
            pull=wide.pull,
            database=wide.database,
            network=wide.network,
            sites=sites,
            engine=wide.engine,
            backup=wide.backup,
            notify=wide.notify,
            limits=wide.limits,
            tls_profile=tls_profile,
            log=wide.log,
        )
    )


def _checked(spec: StackSpec) -> StackSpec:
    """What the stack's engine cannot do is refused here, with the engine's own reason."""
    can = spec.capabilities
    if can.bind_address is not None and spec.ports.bind != ("0.0.0.0",):
        raise SpecError("ports.bind", can.bind_address.rule, can.bind_address.hint)
    return spec


SPEC_MAX_BYTES = MiB


def read_spec_text(path: Path) -> str:
    """stack.yaml's text, read with limits: a regular file of at most 1 MiB of UTF-8."""
    try:
        missing = not path.exists() and not path.is_symlink()
    except PermissionError:
        raise InvalidInput(
            f"{path.parent}: permission denied", "check the stack folder's owner and mode, or run as its owner"
        ) from None
    if missing:
        raise InvalidInput(
            f"{path.name}: not found in {path.parent}", 'run "stackctl init --domain <your domain>" first'
        )
    return read_user_text(path, SPEC_MAX_BYTES, "", "stack.yaml must be a regular text file of at most 1 MiB")


def load_spec(path: Path) -> StackSpec:
    data = parse_yaml(read_spec_text(path), path.name)
    try:
        return spec_from_data(data)
    except SpecError as e:
        raise SpecError(f"{path.name}: {e.path}" if e.path else path.name, e.rule, e.hint) from None
