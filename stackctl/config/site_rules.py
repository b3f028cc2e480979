"""The `sites:` list of stack.yaml -> typed Sites. Every error names its key path (sites[1].upstream.port)
and the rule it breaks; names, slugs and data folders must not collide between sites. Pure."""

from __future__ import annotations

import copy
import ipaddress
import re
from dataclasses import replace
from posixpath import normpath
from typing import Any
from urllib.parse import urlsplit

from stackctl.config import rules as rule
from stackctl.config.dns_spec import dns_settings
from stackctl.config.guard_spec import login_guard, site_exposure
from stackctl.config.settings import (
    ACME_CHALLENGES,
    ACME_PROFILES,
    KEY_TYPES,
    TLS_PROFILES,
    TLS_SOURCES,
    AcmeSettings,
    KeyType,
    PhotoprismSettings,
    TlsProfile,
    TlsSettings,
    TlsSource,
)
from stackctl.config.sites import Site, UpstreamSettings, slug_of
from stackctl.core.errors import SpecError
from stackctl.core.names import hostname_problem, is_ip

NETWORK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
HEALTH_PATH = re.compile(r"/[A-Za-z0-9._~/?&=%+-]{0,255}")
MAX_TIMEOUT_S = 86400


def _site_tls_raw(stack_tls: Any, site_tls: Any) -> Any:
    """A site's tls: the stack-wide tls with the site's keys on top (acme merged key by key)."""
    if site_tls is None:
        return copy.deepcopy(stack_tls)
    if not isinstance(stack_tls, dict) or not isinstance(site_tls, dict):
        return site_tls  # the Section reports what is wrong with it
    merged = copy.deepcopy(stack_tls)
    for key, value in site_tls.items():
        if key == "acme" and isinstance(value, dict) and isinstance(merged.get("acme"), dict):
            merged["acme"] = {**merged["acme"], **value}
        else:
            merged[key] = value
    return merged


def _volume(path: str, value: Any) -> tuple[str, str, bool]:
    text = rule.string(path, value)
    parts = text.split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("ro", "rw")):
        raise SpecError(
            path, f"must be HOST_FOLDER:CONTAINER_PATH or HOST_FOLDER:CONTAINER_PATH:ro, got {rule.show(value)}"
        )
    host = rule.host_path(path, parts[0])
    if not parts[1].startswith("/") or any(c.isspace() for c in parts[1]):
        raise SpecError(path, f"the container path must be absolute and without spaces, got {rule.show(parts[1])}")
    return host, parts[1], len(parts) == 3 and parts[2] == "ro"


def _volumes(path: str, value: Any) -> tuple[tuple[str, str, bool], ...]:
    if not isinstance(value, list):
        raise SpecError(path, f"must be a list of HOST_FOLDER:CONTAINER_PATH[:ro], got {rule.kind(value)}")
    return tuple(_volume(f"{path}[{i}]", item) for i, item in enumerate(value))


def _health(path: str, value: Any) -> str:
    if value == "tcp" or (isinstance(value, str) and HEALTH_PATH.fullmatch(value)):
        return str(value)
    raise SpecError(path, f"must be tcp or an HTTP path such as /health, got {rule.kind(value)}")


def _seconds(path: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TIMEOUT_S:
        raise SpecError(path, f"must be a number of seconds from 1 to {MAX_TIMEOUT_S}, got {rule.kind(value)}")
    return value


def _url(path: str, value: Any) -> tuple[str, int, bool]:
    """(host, port, TLS) of an http:// or https:// URL."""
    shown = rule.show(value)
    example = "such as http://host.docker.internal:8096 or https://nas:5001"
    if not isinstance(value, str) or len(value) > 2048 or any(c.isspace() or not c.isprintable() for c in value):
        raise SpecError(path, f"must be an http:// or https:// URL {example}, got {rule.kind(value)}")
    try:
        url = urlsplit(value)
        port = url.port
    except ValueError:
        raise SpecError(path, f"must be an http:// or https:// URL {example}, got {shown}") from None
    if url.scheme not in ("http", "https"):
        raise SpecError(path, f"must start with http:// or https:// (how HAProxy reaches the service), got {shown}")
    if not url.hostname or url.path not in ("", "/") or url.query or url.fragment or url.username:
        raise SpecError(path, f"must be {url.scheme}://HOST:PORT without a path, user or query, {example}; got {shown}")
    host = url.hostname.lower()
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        problem = hostname_problem(host)
        if problem and not host.replace("-", "").replace("_", "").isalnum():
            raise SpecError(path, f"the host {problem}, got {shown}") from None
    tls = url.scheme == "https"
    return host, port or (443 if tls else 80), tls


def _network(path: str, value: Any) -> str:
    if not isinstance(value, str) or not NETWORK_NAME.fullmatch(value):
        raise SpecError(path, f"must be a Docker network name (letters, digits, '_', '.', '-'), got {rule.kind(value)}")
    return value


def _upstream(section: rule.Section) -> UpstreamSettings:
    url = section.take("url", None, lambda p, v: _url(p, v))
    image = section.take("image", None, rule.image)
    port = section.take("port", None, rule.port)
    timeouts = section.section("timeouts")
    settings = UpstreamSettings(
        image=image,
        port=port,
        url_host=url[0] if url else None,
        url_port=url[1] if url else None,
        url_tls=url[2] if url else False,
        ca_file=section.take("ca_file", None, rule.optional_host_path),
        verify=section.take("verify", True, rule.boolean),
        network=section.take("network", None, _network),
        volumes=section.take("volumes", (), _volumes),
        environment=section.take("environment", (), rule.environment),
        env_file=section.take("env_file", None, rule.optional_host_path),
        health=section.take("health", "tcp", _health),
        timeout_server_s=timeouts.take("server", UpstreamSettings.timeout_server_s, _seconds),
        timeout_tunnel_s=timeouts.take("tunnel", UpstreamSettings.timeout_tunnel_s, _seconds),
    )
    timeouts.finish()
    section.finish()
    if (url is None) == (image is None):
        raise SpecError(
            section.path,
            "needs either url: (a service HAProxy reaches) or image: and port: (a container this stack runs)",
        )
    if image is not None and port is None:
        raise SpecError(
            section.key_path("port"), "is required with image: (the port the app listens on in its container)"
        )
    if url is not None and (port is not None or settings.volumes or settings.environment or settings.env_file):
        what = (
            "with url: only network, health, timeouts, ca_file and verify apply; "
            "image, port, volumes and env are for a container"
        )
        raise SpecError(section.path, what)
    if settings.network is not None and url is None:
        raise SpecError(section.key_path("network"), "goes with url: (a container this stack runs is on its network)")
    _check_tls_keys(section, settings)
    return settings


def _check_tls_keys(section: rule.Section, up: UpstreamSettings) -> None:
    """ca_file and verify go with an https:// URL, one or the other; a certificate is checked by name."""
    for key, given in (("ca_file", up.ca_file is not None), ("verify", "verify" in section.raw)):
        if given and not up.url_tls:
            raise SpecError(section.key_path(key), "goes with url: https://... (HAProxy speaks TLS to the service)")
    if up.ca_file is not None and not up.verify:
        raise SpecError(
            section.key_path("verify"), "is false, so ca_file would not be used",
            "keep ca_file to verify the service's certificate against it, or remove it to take any certificate",
        )  # fmt: skip
    if up.url_tls and up.verify and up.url_host is not None and is_ip(up.url_host):
        raise SpecError(
            section.key_path("url"), f"names an address ({up.url_host}), so its certificate cannot be checked by name",
            "use the name its certificate is for (a Docker network alias works), or set verify: false",
        )  # fmt: skip


def _site(section: rule.Section, stack_tls: Any) -> Site:
    own_tls = section.raw.get("tls")
    if isinstance(own_tls, dict) and "profile" in own_tls:
        raise SpecError(
            section.key_path("tls.profile"), "applies to the whole proxy: every site shares one TLS listener",
            "set it in the top-level tls: instead",
        )  # fmt: skip
    tls = tls_settings(rule.Section(_site_tls_raw(stack_tls, section.raw.get("tls")), section.key_path("tls")))
    section.take("tls", None, lambda p, v: v)
    if "domain" not in section.raw:
        raise SpecError(section.key_path("domain"), "is required, e.g. domain: photos.example.com")
    domain, aliases = site_names(section, tls)
    apps = [key for key in ("photoprism", "upstream") if key in section.raw]
    if len(apps) != 1:
        raise SpecError(
            section.path, "needs exactly one app: photoprism: (a PhotoPrism instance) or upstream: (another service)"
        )
    if apps == ["photoprism"]:
        slug = slug_of(domain)
        defaults = PhotoprismSettings(originals=f"./sites/{slug}/originals", storage=f"./sites/{slug}/storage")
        photoprism = photoprism_settings(section.section("photoprism"), defaults)
        site = Site(domain, aliases, tls, photoprism=photoprism)
    else:
        site = Site(domain, aliases, tls, upstream=_upstream(section.section("upstream")))
    exposure, allow = site_exposure(section, site.photoprism is not None)
    guard = login_guard(section.section("guard"), site.photoprism is not None)
    site = replace(site, login_guard=guard, exposure=exposure, allow=allow)
    section.finish()
    return site


def _folders(site: Site) -> list[tuple[str, str]]:
    pp = site.photoprism
    if pp is None:
        return []
    folders = [("originals", pp.originals), ("storage", pp.storage)]
    return folders + ([("import", pp.import_path)] if pp.import_path else [])


def parse_sites(sections: list[rule.Section], stack_tls: Any, first: Site | None = None) -> tuple[Site, ...]:
    """The sites of the list, after `first` (the top-level site of the single-site form) when given."""
    sites: list[Site] = []
    owners: dict[str, str] = {}  # name, slug or folder -> the key path that holds it
    for section, site in _parsed(sections, stack_tls, first):
        claims = [(f"name {n}", n) for n in site.names] + [
            (f"{k} folder {normpath(v)}", normpath(v)) for k, v in _folders(site)
        ]
        claims.append((f"name {site.slug} (from {site.domain})", f"slug:{site.slug}"))
        for what, key in claims:
            if key in owners:
                raise SpecError(section.path, f"its {what} is already used by {owners[key]}", "give each site its own")
            owners[key] = section.path
        sites.append(site)
    return tuple(sites)


def _parsed(sections: list[rule.Section], stack_tls: Any, first: Site | None) -> list[tuple[rule.Section, Site]]:
    """Each section with its site, `first` (already parsed) before the list's."""
    top = [(rule.Section({}, "domain"), first)] if first is not None else []
    return [*top, *((section, _site(section, stack_tls)) for section in sections)]


def tls_settings(section: rule.Section) -> TlsSettings:
    source: TlsSource = section.take("source", "local-ca", rule.choice(*TLS_SOURCES))
    key_type: KeyType = section.take("key_type", "ecdsa-p256", rule.choice(*KEY_TYPES))
    profile: TlsProfile = section.take("profile", "intermediate", rule.choice(*TLS_PROFILES))
    acme_section = section.section("acme")
    acme = AcmeSettings(
        email=acme_section.take("email", None, rule.email),
        directory=acme_section.take("directory", "letsencrypt-staging", rule.acme_directory),
        ca_bundle=acme_section.take("ca_bundle", None, rule.optional_host_path),
        agree_tos=acme_section.take("agree_tos", False, rule.boolean),
        challenge=acme_section.take("challenge", "http-01", rule.choice(*ACME_CHALLENGES)),
        dns=dns_settings(acme_section.section("dns")) if "dns" in acme_section.raw else None,
        profile=acme_section.take("profile", None, rule.optional(rule.choice(*ACME_PROFILES))),
    )
    acme_section.finish()
    section.finish()
    if acme.challenge == "dns-01" and acme.dns is None:
        raise SpecError(
            section.key_path("acme.dns"),
            "is required when tls.acme.challenge is dns-01 (provider: rfc2136 or lexicon)",
            "see the README's Let's Encrypt section for rfc2136, lexicon and CNAME delegation examples",
        )
    if source == "acme" and acme.email is None:
        why = "is required when tls.source is acme (the CA sends expiry notices to it)"
        raise SpecError(section.key_path("acme.email"), why)
    if source == "acme" and acme.directory == "letsencrypt" and not acme.agree_tos:
        raise SpecError(
            section.key_path("acme.agree_tos"),
            "must be true to use production Let's Encrypt (read https://letsencrypt.org/repository/ first)",
        )
    return TlsSettings(source=source, key_type=key_type, acme=acme, profile=profile)


def site_names(section: rule.Section, tls: TlsSettings) -> tuple[str, tuple[str, ...]]:
    """A site's domain and aliases: no duplicates, and wildcards only where DNS-01 can issue them."""
    domain = section.take("domain", "", rule.hostname)
    no_aliases: tuple[str, ...] = ()
    aliases = section.take("aliases", no_aliases, rule.aliases)
    if domain in aliases:
        raise SpecError(
            section.key_path(f"aliases[{aliases.index(domain)}]"), f"duplicate of domain {rule.show(domain)}"
        )
    for i, alias in enumerate(aliases):
        if alias.startswith("*.") and not (tls.source == "acme" and tls.acme.challenge == "dns-01"):
            raise SpecError(
                section.key_path(f"aliases[{i}]"),
                f"a wildcard name ({alias}) needs an ACME certificate over DNS-01: CAs such as Let's Encrypt "
                "issue wildcards only after a DNS challenge",
                "set tls.source: acme, tls.acme.challenge: dns-01 and tls.acme.dns, or list the names one by one",
            )
    return domain, aliases


def photoprism_settings(pp: rule.Section, defaults: PhotoprismSettings) -> PhotoprismSettings:
    settings = PhotoprismSettings(
        originals=pp.take("originals", defaults.originals, rule.host_path),
        storage=pp.take("storage", defaults.storage, rule.host_path),
        import_path=pp.take("import", None, rule.optional_host_path),
        admin_user=pp.take("admin_user", "admin", rule.admin_user),
        env=pp.take("env", (), rule.env_vars),
    )
    pp.finish()
    return settings
