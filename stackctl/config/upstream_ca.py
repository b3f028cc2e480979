"""The CA certificates an HTTPS upstream is verified against, as files for HAProxy's folder: the site's
`upstream.ca_file`, or this host's system trust store. Read with limits, and refused unless they hold
PEM certificates."""

from __future__ import annotations

import ssl
from pathlib import Path

from cryptography import x509

from stackctl.config.host_paths import site_key, stack_path
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.errors import InvalidInput
from stackctl.core.fsio import MiB, read_user_file

CA_FILE_LIMIT = 4 * MiB  # a system bundle is about 0.2 MiB


def system_ca_bundle() -> Path | None:
    """This host's trust store as one PEM file, where OpenSSL looks for it."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def _pem_certificates(path: Path, what: str, hint: str) -> str:
    data = read_user_file(path, CA_FILE_LIMIT, what, hint)
    try:
        found = x509.load_pem_x509_certificates(data)
    except ValueError:
        found = []
    if not found:
        raise InvalidInput(f"{what} {path} holds no PEM certificate", hint)
    return data.decode("ascii", "replace")


def _ca_text(root: Path, spec: StackSpec, site: Site) -> str:
    assert site.upstream is not None
    if site.upstream.ca_file is not None:
        key = f"{site_key(spec, site)}upstream.ca_file"
        hint = "give the CA certificate (PEM) that signed the service's certificate"
        return _pem_certificates(stack_path(root, site.upstream.ca_file), f"stack.yaml: {key}:", hint)
    bundle = system_ca_bundle()
    if bundle is None:
        raise InvalidInput(
            f"{site.domain}'s upstream is verified against this host's trust store, and this host has none",
            "install ca-certificates, or set upstream.ca_file to the CA that signed the service's certificate",
        )
    return _pem_certificates(bundle, "this host's trust store", "reinstall ca-certificates")


def upstream_ca_files(root: Path, spec: StackSpec) -> dict[str, str]:
    """HAProxy-folder file name -> PEM text, for each HTTPS upstream that is verified."""
    files = {}
    for site in spec.sites:
        up = site.upstream
        if up is not None and up.url_tls and up.verify:
            files[site.upstream_ca_name] = _ca_text(root, spec, site)
    return files
