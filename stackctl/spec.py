"""stack.yaml -> a frozen, typed StackSpec. Every error names its key path and the rule it breaks."""

from __future__ import annotations

import ipaddress
import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from stackctl.errors import InvalidInput, SpecError
from stackctl.names import hostname_problem
from stackctl.yamlload import parse_yaml

HAPROXY_LTS_IMAGE = "haproxy:3.2"
TLS_SOURCES = ("local-ca", "import", "acme")
KEY_TYPES = ("ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-4096")
PULL_POLICIES = ("always", "missing", "never")
DATABASE_KINDS = ("mariadb", "sqlite")
ACME_DIRECTORIES = {
    "letsencrypt": "https://acme-v02.api.letsencrypt.org/directory",
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}
# Variables stackctl sets itself; letting photoprism.env override them would break the wiring.
MANAGED_PHOTOPRISM_ENV = frozenset(
    {
        "PHOTOPRISM_SITE_URL",
        "PHOTOPRISM_TRUSTED_PROXY",
        "PHOTOPRISM_DISABLE_TLS",
        "PHOTOPRISM_ADMIN_USER",
        "PHOTOPRISM_ADMIN_PASSWORD",
        "PHOTOPRISM_DATABASE_DRIVER",
        "PHOTOPRISM_DATABASE_SERVER",
        "PHOTOPRISM_DATABASE_NAME",
        "PHOTOPRISM_DATABASE_USER",
        "PHOTOPRISM_DATABASE_PASSWORD",
    }
)
_PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Ports:
    http: int = 80
    https: int = 443
    bind: str = "0.0.0.0"
    stats: int = 8404


@dataclass(frozen=True)
class AcmeSettings:
    email: str | None = None
    directory: str = "letsencrypt-staging"
    ca_bundle: str | None = None
    agree_tos: bool = False

    @property
    def directory_url(self) -> str:
        return ACME_DIRECTORIES.get(self.directory, self.directory)


@dataclass(frozen=True)
class TlsSettings:
    source: str = "local-ca"
    key_type: str = "ecdsa-p256"
    acme: AcmeSettings = field(default_factory=AcmeSettings)


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
    kind: str = "mariadb"
    path: str = "./database"


@dataclass(frozen=True)
class NetworkSettings:
    subnet: str


@dataclass(frozen=True)
class StackSpec:
    domain: str
    network: NetworkSettings
    name: str = "photoprism"
    aliases: tuple[str, ...] = ()
    ports: Ports = field(default_factory=Ports)
    tls: TlsSettings = field(default_factory=TlsSettings)
    images: Images = field(default_factory=Images)
    pull: str = "missing"
    photoprism: PhotoprismSettings = field(default_factory=PhotoprismSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)

    @property
    def names(self) -> tuple[str, ...]:
        """Every host name served: the domain first, then the aliases."""
        return (self.domain, *self.aliases)

    @property
    def site_url(self) -> str:
        port = "" if self.ports.https == 443 else f":{self.ports.https}"
        return f"https://{self.domain}{port}/"


def default_subnet(project_name: str) -> str:
    """A stable /24 per project name, so two stacks on one host rarely collide."""
    return f"172.30.{zlib.crc32(project_name.encode()) % 256}.0/24"


def _show(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return _show(value)


T = TypeVar("T")


class _Section:
    """One mapping of stack.yaml; remembers which keys were read so leftovers are reported as unknown."""

    def __init__(self, raw: Any, path: str) -> None:
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise SpecError(path or "stack.yaml", f"must be a mapping of keys, got {_kind(raw)}")
        self.raw: dict[Any, Any] = raw
        self.path = path
        self._known: list[str] = []

    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def take(self, key: str, default: T, convert: Callable[[str, Any], T]) -> T:
        self._known.append(key)
        if key not in self.raw:
            return default
        return convert(self.key_path(key), self.raw[key])

    def section(self, key: str) -> _Section:
        self._known.append(key)
        return _Section(self.raw.get(key), self.key_path(key))

    def finish(self) -> None:
        for key in self.raw:
            if key not in self._known:
                raise SpecError(self.key_path(str(key)), f"unknown key (known keys: {', '.join(self._known)})")


def _string(path: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SpecError(path, f"must be a non-empty string, got {_kind(value)}")
    if any(c in value for c in "\n\r\0"):
        raise SpecError(path, "must be a single line")
    return value


def _optional_string(path: str, value: Any) -> str | None:
    return None if value is None else _string(path, value)


def _boolean(path: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SpecError(path, f"must be true or false, got {_kind(value)}")
    return value


def _choice(*choices: str) -> Callable[[str, Any], str]:
    def convert(path: str, value: Any) -> str:
        if value not in choices:
            raise SpecError(path, f"must be one of {', '.join(choices)}, got {_kind(value)}")
        return str(value)

    return convert


def _port(path: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise SpecError(path, f"must be an integer from 1 to 65535, got {_kind(value)}")
    return value


def _hostname(path: str, value: Any) -> str:
    if not isinstance(value, str):
        raise SpecError(path, f"must be a DNS name, got {_kind(value)}")
    name = value.strip().lower().rstrip(".")
    problem = hostname_problem(name)
    if problem:
        raise SpecError(path, f"{problem}, got {_show(value)}")
    return name


def _ip_address(path: str, value: Any) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise SpecError(path, f"must be an IP address such as 0.0.0.0 or 127.0.0.1, got {_kind(value)}") from None


def _image(path: str, value: Any) -> str:
    text = _string(path, value)
    if any(c.isspace() for c in text):
        raise SpecError(path, f"must be an image reference without spaces, got {_show(value)}")
    return text


def _aliases(path: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise SpecError(path, f"must be a list of DNS names, got {_kind(value)}")
    names = tuple(_hostname(f"{path}[{i}]", item) for i, item in enumerate(value))
    for i, name in enumerate(names):
        if name in names[:i]:
            raise SpecError(f"{path}[{i}]", f"duplicate name {_show(name)}")
    return names


def _project_name(path: str, value: Any) -> str:
    if not isinstance(value, str) or not _PROJECT_NAME.match(value):
        raise SpecError(
            path,
            "must start with a lowercase letter or digit and hold only lowercase letters, digits, "
            f"'-' and '_', got {_kind(value)}",
        )
    return value


def _subnet(path: str, value: Any) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except (TypeError, ValueError):
        raise SpecError(path, f"must be an IPv4 network such as 172.30.5.0/24, got {_kind(value)}") from None
    if network.version != 4 or not network.is_private or network.prefixlen > 28:
        raise SpecError(path, f"must be a private IPv4 network of /28 or larger, got {_show(value)}")
    return str(network)


def _admin_user(path: str, value: Any) -> str:
    text = _string(path, value)
    if not re.match(r"^[a-z0-9][a-z0-9._@-]{0,63}$", text):
        raise SpecError(path, f"must be lowercase letters, digits, '.', '_', '@' or '-', got {_show(value)}")
    return text


def _acme_directory(path: str, value: Any) -> str:
    if value in ACME_DIRECTORIES or (isinstance(value, str) and value.startswith("https://")):
        return str(value)
    raise SpecError(path, f"must be letsencrypt, letsencrypt-staging or an https:// URL, got {_kind(value)}")


def _email(path: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _EMAIL.match(value):
        raise SpecError(path, f"must be an email address, got {_kind(value)}")
    return value


def _env(path: str, value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise SpecError(path, f"must be a mapping of variable names to values, got {_kind(value)}")
    pairs = []
    for key, item in value.items():
        if not isinstance(key, str) or not _ENV_NAME.match(key):
            raise SpecError(f"{path}.{key}", "must be a variable name of letters, digits and '_'")
        if key in MANAGED_PHOTOPRISM_ENV:
            raise SpecError(f"{path}.{key}", "is set by stackctl; use the matching stack.yaml key instead")
        if isinstance(item, bool):
            text = "true" if item else "false"
        elif isinstance(item, (str, int, float)):
            text = str(item)
        else:
            raise SpecError(f"{path}.{key}", f"must be a string, number or boolean, got {_kind(item)}")
        pairs.append((key, text))
    return tuple(sorted(pairs))


def _ports(section: _Section) -> Ports:
    ports = Ports(
        http=section.take("http", 80, _port),
        https=section.take("https", 443, _port),
        bind=section.take("bind", "0.0.0.0", _ip_address),
        stats=section.take("stats", 8404, _port),
    )
    section.finish()
    if ports.http == ports.https:
        raise SpecError(section.key_path("https"), f"must differ from ports.http, both are {ports.http}")
    if ports.stats in (ports.http, ports.https):
        raise SpecError(section.key_path("stats"), f"must differ from ports.http and ports.https, got {ports.stats}")
    return ports


def _tls(section: _Section) -> TlsSettings:
    source = section.take("source", "local-ca", _choice(*TLS_SOURCES))
    key_type = section.take("key_type", "ecdsa-p256", _choice(*KEY_TYPES))
    acme_section = section.section("acme")
    acme = AcmeSettings(
        email=acme_section.take("email", None, _email),
        directory=acme_section.take("directory", "letsencrypt-staging", _acme_directory),
        ca_bundle=acme_section.take("ca_bundle", None, _optional_string),
        agree_tos=acme_section.take("agree_tos", False, _boolean),
    )
    acme_section.finish()
    section.finish()
    if source == "acme" and acme.email is None:
        raise SpecError("tls.acme.email", "is required when tls.source is acme (the CA sends expiry notices to it)")
    if source == "acme" and acme.directory == "letsencrypt" and not acme.agree_tos:
        raise SpecError(
            "tls.acme.agree_tos",
            "must be true to use production Let's Encrypt (read https://letsencrypt.org/repository/ first)",
        )
    return TlsSettings(source=source, key_type=key_type, acme=acme)


def spec_from_data(data: Any) -> StackSpec:
    """Validate parsed YAML into a StackSpec. Raises SpecError on the first broken rule."""
    top = _Section(data, "")
    if "domain" not in top.raw:
        raise SpecError("domain", "is required, e.g. domain: photos.example.com")
    name = top.take("name", "photoprism", _project_name)
    domain = top.take("domain", "", _hostname)
    no_aliases: tuple[str, ...] = ()
    aliases = top.take("aliases", no_aliases, _aliases)
    if domain in aliases:
        raise SpecError(f"aliases[{aliases.index(domain)}]", f"duplicate of domain {_show(domain)}")
    ports = _ports(top.section("ports"))
    tls = _tls(top.section("tls"))
    images_section = top.section("images")
    images = Images(
        haproxy=images_section.take("haproxy", HAPROXY_LTS_IMAGE, _image),
        photoprism=images_section.take("photoprism", Images.photoprism, _image),
        mariadb=images_section.take("mariadb", Images.mariadb, _image),
    )
    images_section.finish()
    pull = top.take("pull", "missing", _choice(*PULL_POLICIES))
    pp = top.section("photoprism")
    photoprism = PhotoprismSettings(
        originals=pp.take("originals", "./originals", _string),
        storage=pp.take("storage", "./storage", _string),
        import_path=pp.take("import", None, _optional_string),
        admin_user=pp.take("admin_user", "admin", _admin_user),
        env=pp.take("env", (), _env),
    )
    pp.finish()
    db = top.section("database")
    database = DatabaseSettings(
        kind=db.take("kind", "mariadb", _choice(*DATABASE_KINDS)),
        path=db.take("path", "./database", _string),
    )
    db.finish()
    net = top.section("network")
    network = NetworkSettings(subnet=net.take("subnet", default_subnet(name), _subnet))
    net.finish()
    top.finish()
    return StackSpec(
        name=name,
        domain=domain,
        aliases=aliases,
        ports=ports,
        tls=tls,
        images=images,
        pull=pull,
        photoprism=photoprism,
        database=database,
        network=network,
    )


def read_spec_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(
            f"{path.name}: not found in {path.parent}", 'run "stackctl init --domain <your domain>" first'
        ) from None
    except IsADirectoryError:
        raise InvalidInput(f"{path.name}: is a folder, not a file", "move it away and run stackctl init") from None
    except UnicodeDecodeError as e:
        raise InvalidInput(f"{path.name}: not UTF-8 text (byte {e.start})", "save it as UTF-8") from None
    except OSError as e:
        raise InvalidInput(f"{path.name}: cannot be read: {e.strerror}", "check its permissions") from None


def load_spec(path: Path) -> StackSpec:
    data = parse_yaml(read_spec_text(path), path.name)
    try:
        return spec_from_data(data)
    except SpecError as e:
        raise SpecError(f"{path.name}: {e.path}" if e.path else path.name, e.rule, e.hint) from None


def replace_top_level_value(text: str, key_path: tuple[str, str], value: str) -> str:
    """Set `section.key: value` in stack.yaml text, keeping every comment and other line as written."""
    section, key = key_path
    lines = text.splitlines(keepends=True)
    in_section = False
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if indent == 0 and stripped and not stripped.startswith("#"):
            in_section = stripped.split(":", 1)[0].strip() == section
            continue
        if in_section and indent > 0 and stripped.split(":", 1)[0].strip() == key:
            comment = ""
            if "#" in stripped:
                comment = "  " + stripped[stripped.index("#") :].rstrip("\n")
            lines[i] = f"{' ' * indent}{key}: {value}{comment}\n"
            return "".join(lines)
    if any(line.split(":", 1)[0] == section for line in lines):
        out = []
        for line in lines:
            out.append(line)
            if line.split(":", 1)[0] == section and line.rstrip().endswith(":"):
                out.append(f"  {key}: {value}\n")
        return "".join(out)
    suffix = "" if not text or text.endswith("\n") else "\n"
    return f"{text}{suffix}{section}:\n  {key}: {value}\n"
