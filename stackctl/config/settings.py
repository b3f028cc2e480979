"""The typed values of stack.yaml below the stack itself: ports, TLS, images, a PhotoPrism site's
folders, the database, the network. Each setting that has a few values is a `Literal`. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from stackctl.config.dns_spec import DnsSettings
from stackctl.config.rules import ACME_DIRECTORIES, Tristate

HAPROXY_LTS_IMAGE = "haproxy:3.2"
# HAProxy's first certificate, served to a client that names no site (or none at all): a self-signed
# one of the stack's own. A domain cannot contain "_", so no site's bundle can take this name.
DEFAULT_CERT_FILE = "_default.pem"

EngineKind = Literal["docker", "swarm"]  # docker: one host | swarm: the Swarm the local engine manages
TlsSource = Literal["local-ca", "import", "acme"]
# Mozilla's server side TLS guideline: "intermediate" (TLS 1.2 and 1.3, for every client of the last
# years) or "modern" (TLS 1.3 only).
TlsProfile = Literal["intermediate", "modern"]
AcmeChallenge = Literal["http-01", "dns-01"]
# Let's Encrypt's certificate profiles: classic (90 days), tlsserver (90 days, for TLS servers only) and
# shortlived (about 6 days). None: the CA's default.
AcmeProfile = Literal["classic", "tlsserver", "shortlived"]
KeyType = Literal["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-4096"]
PullPolicy = Literal["always", "missing", "never"]
# HAProxy's access log: "errors" (what did not end well) or "full" (every request).
LogMode = Literal["errors", "full"]
DatabaseKind = Literal["mariadb", "sqlite"]
Http3Setting = Tristate  # ports.http3: auto | true | false

ENGINES: Final[tuple[EngineKind, ...]] = ("docker", "swarm")
TLS_SOURCES: Final[tuple[TlsSource, ...]] = ("local-ca", "import", "acme")
TLS_PROFILES: Final[tuple[TlsProfile, ...]] = ("intermediate", "modern")
ACME_CHALLENGES: Final[tuple[AcmeChallenge, ...]] = ("http-01", "dns-01")
ACME_PROFILES: Final[tuple[AcmeProfile, ...]] = ("classic", "tlsserver", "shortlived")
KEY_TYPES: Final[tuple[KeyType, ...]] = ("ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-4096")
PULL_POLICIES: Final[tuple[PullPolicy, ...]] = ("always", "missing", "never")
LOG_MODES: Final[tuple[LogMode, ...]] = ("errors", "full")
DATABASE_KINDS: Final[tuple[DatabaseKind, ...]] = ("mariadb", "sqlite")


@dataclass(frozen=True)
class Ports:
    http: int = 80
    https: int = 443
    bind: tuple[str, ...] = ("0.0.0.0",)  # each address the http and https ports are published on
    stats: int = 8404
    http3: Http3Setting = "auto"

    @property
    def local_addresses(self) -> tuple[str, ...]:
        """Where this host answers, one address per bound one: the loopback address of its family for
        every address (0.0.0.0, ::)."""
        return tuple(dict.fromkeys({"0.0.0.0": "127.0.0.1", "::": "::1"}.get(a, a) for a in self.bind))

    @property
    def local_address(self) -> str:
        """The first of local_addresses: where a check that needs one address looks."""
        return self.local_addresses[0]

    @property
    def ipv6(self) -> bool:
        """Whether any address is IPv6: the stack's network then carries IPv6 too, so that Docker routes
        IPv6 clients to HAProxy with their own address."""
        return any(is_ipv6(address) for address in self.bind)


def is_ipv6(address: str) -> bool:
    """An address of ports.bind (validated: IPv4 or IPv6, plain form) is IPv6."""
    return ":" in address


@dataclass(frozen=True)
class AcmeSettings:
    email: str | None = None
    directory: str = "letsencrypt-staging"
    ca_bundle: str | None = None
    agree_tos: bool = False
    challenge: AcmeChallenge = "http-01"
    dns: DnsSettings | None = None
    profile: AcmeProfile | None = None

    @property
    def directory_url(self) -> str:
        return ACME_DIRECTORIES.get(self.directory, self.directory)


@dataclass(frozen=True)
class TlsSettings:
    source: TlsSource = "local-ca"
    key_type: KeyType = "ecdsa-p256"
    acme: AcmeSettings = field(default_factory=AcmeSettings)
    profile: TlsProfile = "intermediate"  # the whole proxy's: every site shares one TLS listener


@dataclass(frozen=True)
class Images:
    haproxy: str = HAPROXY_LTS_IMAGE
    photoprism: str = "photoprism/photoprism:latest"
    mariadb: str = "mariadb:11"


@dataclass(frozen=True)
class PhotoprismSettings:
    originals: str = "./originals"
    storage: str = "./storage"
    import_path: str | None = None
    admin_user: str = "admin"
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DatabaseSettings:
    kind: DatabaseKind = "mariadb"
    path: str = "./database"


@dataclass(frozen=True)
class BackupSettings:
    """The nightly backup `stackctl schedule install` sets up (stack.yaml's `backup:`); relative paths
    are inside the stack folder."""

    to: str  # the folder the archives go to
    passphrase_file: str  # the archives are encrypted with the passphrase in this file
    keep: int = 14  # the newest archives kept there
    with_originals: bool = False


@dataclass(frozen=True)
class NetworkSettings:
    subnet: str


@dataclass(frozen=True)
class Refusal:
    """Why an engine cannot do something, and what to do instead: one line for the user."""

    rule: str
    hint: str


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do that another cannot: None where it can, else the refusal. Each engine
    reports its own (`Engine.capabilities`); stack.yaml is checked against the same record."""

    units: str = "containers"  # what the engine runs a service as, in messages
    # True: a new configuration or certificate reaches the running HAProxy by a reload or the runtime
    # API. False: HAProxy's tasks roll onto new Swarm configs and secrets.
    reloads_in_place: bool = True
    # True: an upgrade rolls each service onto its new image and the engine rolls a failing one back
    # itself. False: stackctl replaces one container at a time and puts the old image back on failure.
    rolls_upgrades: bool = False
    edge_nodes: bool = False  # the stack answers on each of several edge nodes (status checks each one)
    bind_address: Refusal | None = None  # ports.bind other than every IPv4 address
    secret_rotation: Refusal | None = None
    site_restore: Refusal | None = None  # restore --site into the running stack
    # True: the database and PhotoPrism's folders are on one node (stackctl.data); a command that reads
    # them (backup, restore) runs there. False: every container runs on this host.
    data_node: bool = False


SWARM_CAPABILITIES = Capabilities(
    units="services",
    reloads_in_place=False,
    rolls_upgrades=True,
    edge_nodes=True,
    bind_address=Refusal(
        "must be 0.0.0.0 with engine: swarm (Swarm publishes on every address of an edge node)",
        "remove ports.bind, and restrict access with the node's firewall",
    ),
    secret_rotation=Refusal(
        "secrets rotate is not available with engine: swarm yet (a password is a Swarm secret its services "
        "roll onto, stop-first)",
        "run the stack with engine: docker to rotate a password without a gap",
    ),
    site_restore=Refusal(
        "restore --site is not available with engine: swarm (a site's task cannot be taken out alone while its "
        "database is loaded)",
        "restore the whole archive into a new folder (--dir), then stackctl up there",
    ),
    data_node=True,
)
ENGINE_CAPABILITIES: Final[dict[EngineKind, Capabilities]] = {"docker": Capabilities(), "swarm": SWARM_CAPABILITIES}
