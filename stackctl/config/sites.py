"""The sites of a stack: each a set of host names, its TLS settings and one app, either a managed
PhotoPrism instance or an upstream service. Names derived from a site (its slug, service, backend,
database) are decided here, once, so that renderers and flows never disagree. Pure."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from stackctl.config.guard_spec import Exposure, LoginGuard
from stackctl.config.settings import PhotoprismSettings, TlsSettings

# A site of the single-site form keeps the names it always had: service and backend `photoprism`,
# database and user `photoprism`, its passwords in secrets/photoprism.env.
LEGACY_SERVICE = "photoprism"
PHOTOPRISM_PORT = 2342
SLUG_MAX = 40
PHOTOPRISM_TIMEOUTS = (600, 3600)  # server (transcoding, large imports think for a while), tunnel (WebSocket)
UPSTREAM_TIMEOUTS = (60, 3600)


@dataclass(frozen=True)
class UpstreamSettings:
    """Another service: a container this stack runs (`image` and `port`) or an address (`url`)."""

    image: str | None = None
    port: int | None = None
    url_host: str | None = None  # from `url: http://host:port` or `https://host:port`
    url_port: int | None = None
    url_tls: bool = False  # https://: HAProxy speaks TLS to it, health checks included
    ca_file: str | None = None  # https: the CA its certificate is verified against (None: the system's)
    verify: bool = True  # https: false takes any certificate (no protection against an impostor)
    network: str | None = None  # a Docker network of the user's that HAProxy joins to reach `url`
    volumes: tuple[tuple[str, str, bool], ...] = ()  # (host path, container path, read only)
    environment: tuple[tuple[str, str], ...] = ()
    env_file: str | None = None
    health: str = "tcp"  # "tcp", or an HTTP path such as /health that answers 2xx or 3xx
    timeout_server_s: int = UPSTREAM_TIMEOUTS[0]
    timeout_tunnel_s: int = UPSTREAM_TIMEOUTS[1]

    @property
    def runs_container(self) -> bool:
        return self.image is not None

    @property
    def url(self) -> str | None:
        if self.url_host is None:
            return None
        return f"{'https' if self.url_tls else 'http'}://{self.url_host}:{self.url_port}"


def slug_of(domain: str) -> str:
    """A name for containers, databases and folders: the domain with '-' for '.', shortened with a
    checksum when long (a DNS label and a MariaDB name both have limits)."""
    slug = domain.replace(".", "-")
    if len(slug) <= SLUG_MAX:
        return slug
    return f"{slug[: SLUG_MAX - 9].rstrip('-')}-{zlib.crc32(domain.encode()):08x}"


@dataclass(frozen=True)
class Site:
    domain: str
    aliases: tuple[str, ...]
    tls: TlsSettings
    photoprism: PhotoprismSettings | None = None
    upstream: UpstreamSettings | None = None
    legacy: bool = False  # the single-site form of stack.yaml
    login_guard: LoginGuard | None = None  # login throttling at the edge (PhotoPrism sites); None: off
    exposure: Exposure = "public"  # who reaches the site: anyone, only `allow`, or share links for anyone
    allow: tuple[str, ...] = ()  # the networks that reach all of a private or shares site

    @property
    def names(self) -> tuple[str, ...]:
        return (self.domain, *self.aliases)

    @property
    def slug(self) -> str:
        return slug_of(self.domain)

    @property
    def kind(self) -> str:
        return "photoprism" if self.photoprism is not None else "upstream"

    @property
    def backend(self) -> str:
        """The HAProxy backend, and for a container app its compose service."""
        if self.legacy:
            return LEGACY_SERVICE
        return f"{self.kind}-{self.slug}"

    @property
    def guard_table(self) -> str:
        """The HAProxy stick table counting this site's failed logins (a backend of its own)."""
        return f"login-guard-{self.backend}"

    @property
    def visitors_table(self) -> str:
        """The HAProxy stick table of the sessions redeemed from this site's share links (`shares`)."""
        return f"share-visitors-{self.backend}"

    @property
    def upstream_ca_name(self) -> str:
        """The file in HAProxy's folder an HTTPS upstream's certificate is verified against."""
        return f"upstream-ca-{self.slug}.pem"

    @property
    def tables(self) -> tuple[str, ...]:
        """The table-only backends HAProxy has for this site."""
        guard = (self.guard_table,) if self.login_guard is not None else ()
        return guard + ((self.visitors_table,) if self.exposure == "shares" else ())

    @property
    def server(self) -> str:
        return LEGACY_SERVICE if self.legacy else "app"

    @property
    def service(self) -> str | None:
        """The compose service of the app's container; None for an upstream reached by address."""
        if self.upstream is not None and not self.upstream.runs_container:
            return None
        return self.backend

    @property
    def app_address(self) -> str:
        """host:port HAProxy sends this site's requests to."""
        if self.upstream is None:
            return f"{self.backend}:{PHOTOPRISM_PORT}"
        if self.upstream.runs_container:
            return f"{self.backend}:{self.upstream.port}"
        return f"{self.upstream.url_host}:{self.upstream.url_port}"

    @property
    def app_port(self) -> int:
        return int(self.app_address.rsplit(":", 1)[1])

    @property
    def database_name(self) -> str:
        """The MariaDB database and user of a PhotoPrism site."""
        return LEGACY_SERVICE if self.legacy else f"pp_{self.slug.replace('-', '_')}"

    @property
    def secrets_file(self) -> str:
        """The env file holding a PhotoPrism site's passwords, relative to the stack folder."""
        return "secrets/photoprism.env" if self.legacy else f"secrets/sites/{self.slug}.env"

    @property
    def timeouts(self) -> tuple[int, int]:
        if self.upstream is None:
            return PHOTOPRISM_TIMEOUTS
        return self.upstream.timeout_server_s, self.upstream.timeout_tunnel_s
