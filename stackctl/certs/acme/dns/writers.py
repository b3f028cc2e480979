"""Who writes the TXT records: RFC 2136 dynamic updates signed with TSIG (BIND, Knot, PowerDNS, most
routers), or one of dns-lexicon's providers (Cloudflare, Hetzner, OVH, ...). Credentials come from
secrets/dns.env and never appear in output or errors."""

from __future__ import annotations

import base64
import binascii
import importlib
from pathlib import Path
from typing import Any, Protocol

import dns.exception
import dns.name
import dns.query
import dns.rcode
import dns.tsig
import dns.tsigkeyring
import dns.update

from stackctl.certs.acme.dns.lookup import address_and_port
from stackctl.config.dns_spec import DnsSettings
from stackctl.config.secrets import read_env_file
from stackctl.core.errors import InvalidInput, OperationFailed

DNS_ENV = "dns.env"
TSIG_SECRET = "TSIG_SECRET"


class TxtWriter(Protocol):
    def add(self, zone: str, name: str, value: str, ttl: int) -> None: ...

    def remove(self, zone: str, name: str, value: str) -> None: ...


def _dns_env(secrets: Path) -> dict[str, str]:
    path = secrets / DNS_ENV
    if not path.exists():
        raise InvalidInput(
            f"secrets/{DNS_ENV} is missing: DNS-01 needs the DNS credentials there",
            f"create it (mode 0600) with {TSIG_SECRET}=<base64 secret> for rfc2136, or LEXICON_<PROVIDER>_<OPTION>=... "
            "for lexicon",
        )
    return read_env_file(path)


class Rfc2136Writer:
    def __init__(self, settings: DnsSettings, secrets: Path) -> None:
        assert settings.server is not None and settings.key_name is not None
        secret = _dns_env(secrets).get(TSIG_SECRET, "")
        try:
            base64.b64decode(secret, validate=True)
        except (binascii.Error, ValueError):
            secret = ""
        if not secret:
            raise InvalidInput(
                f"secrets/{DNS_ENV} holds no valid {TSIG_SECRET} (the TSIG key's base64 secret)",
                f"add {TSIG_SECRET}=<secret> as your DNS server's key {settings.key_name} has it",
            )
        self.server, self.port = address_and_port(settings.server)
        self.key_name = settings.key_name
        self.keyring = dns.tsigkeyring.from_text({settings.key_name: secret})
        self.algorithm = dns.name.from_text(settings.key_algorithm)

    def _send(self, zone: str, change: str, name: str, value: str, ttl: int = 0) -> None:
        update = dns.update.UpdateMessage(zone, keyring=self.keyring, keyalgorithm=self.algorithm)
        relative = dns.name.from_text(name).relativize(dns.name.from_text(zone))
        if change == "add":
            update.add(relative, ttl, "TXT", f'"{value}"')
        else:
            update.delete(relative, "TXT", f'"{value}"')
        where = f"{self.server}:{self.port}"
        try:
            response = dns.query.tcp(update, self.server, timeout=10, port=self.port)
        except dns.tsig.PeerError as e:
            raise OperationFailed(
                f"the DNS server {where} refused the update for {zone}: TSIG key {self.key_name} was not accepted "
                f"({type(e).__name__})",
                f"check tls.acme.dns.key_name, key_algorithm and {TSIG_SECRET} in secrets/{DNS_ENV} against the "
                "server's key",
            ) from e
        except (dns.exception.DNSException, OSError) as e:
            raise OperationFailed(
                f"failed to send a DNS update to {where}: {type(e).__name__}: {e}",
                "check tls.acme.dns.server: the primary server must accept TCP on that address",
            ) from e
        code = response.rcode()
        if code == dns.rcode.NOTAUTH:
            raise OperationFailed(
                f"the DNS server {where} refused the update for {zone}: TSIG key {self.key_name} was not accepted",
                f"check tls.acme.dns.key_name, key_algorithm and {TSIG_SECRET} in secrets/{DNS_ENV}",
            )
        if code != dns.rcode.NOERROR:
            raise OperationFailed(
                f"the DNS server {where} refused the update of {name} in zone {zone}: {dns.rcode.to_text(code)}",
                f"allow key {self.key_name} to update zone {zone} (BIND: allow-update or update-policy)",
            )

    def add(self, zone: str, name: str, value: str, ttl: int) -> None:
        self._send(zone, "add", name, value, ttl)

    def remove(self, zone: str, name: str, value: str) -> None:
        self._send(zone, "remove", name, value)


class LexiconWriter:
    """A dns-lexicon provider, given the zone stackctl found itself (lexicon's own guess would consult the
    public suffix list over the network). Options: LEXICON_<PROVIDER>_<OPTION> lines of secrets/dns.env."""

    def __init__(self, settings: DnsSettings, secrets: Path) -> None:
        assert settings.lexicon_provider is not None
        self.provider = settings.lexicon_provider
        prefix = f"LEXICON_{self.provider.upper()}_"
        self.options = {k[len(prefix) :].lower(): v for k, v in _dns_env(secrets).items() if k.startswith(prefix)}

    def _operation(self, zone: str, ttl: int | None) -> Any:
        from lexicon.config import ConfigResolver

        config = ConfigResolver().with_dict(  # type: ignore[no-untyped-call]
            {"provider_name": self.provider, "domain": zone.rstrip("."), "ttl": ttl, self.provider: self.options}
        )
        # Lexicon's Client would guess the zone again; its provider classes take the resolved config directly.
        module = importlib.import_module(f"lexicon._private.providers.{self.provider}")
        provider = module.Provider(config)
        try:
            provider.authenticate()
        except Exception as e:  # providers raise their own exception types
            raise OperationFailed(
                f"lexicon provider {self.provider} could not open zone {zone}: {type(e).__name__}",
                f"check the LEXICON_{self.provider.upper()}_* credentials in secrets/{DNS_ENV}",
            ) from None
        return provider

    def add(self, zone: str, name: str, value: str, ttl: int) -> None:
        self._call(zone, ttl, "create_record", name, value)

    def remove(self, zone: str, name: str, value: str) -> None:
        self._call(zone, None, "delete_record", name, value)

    def _call(self, zone: str, ttl: int | None, operation: str, name: str, value: str) -> None:
        provider = self._operation(zone, ttl)
        try:
            if operation == "create_record":
                provider.create_record("TXT", name.rstrip("."), value)
            else:
                provider.delete_record(None, "TXT", name.rstrip("."), value)
        except Exception as e:  # providers raise their own exception types; their text may hold secrets
            raise OperationFailed(
                f"lexicon provider {self.provider} failed to {operation.replace('_', ' ')} {name}: {type(e).__name__}",
                "check the provider's credentials and that the zone is managed by it",
            ) from None
        finally:
            provider.cleanup()


def txt_writer(settings: DnsSettings, secrets: Path) -> TxtWriter:
    if settings.provider == "lexicon":
        return LexiconWriter(settings, secrets)
    return Rfc2136Writer(settings, secrets)
