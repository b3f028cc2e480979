"""Local CA: issuance verified by openssl, loaded by haproxy, served over real TLS; show, renew, modes."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import ssl
import stat
import subprocess
from pathlib import Path

import pytest

from stackctl.certs.inspect import CertInfo
from stackctl.certs.store import CertStore
from stackctl.config.spec import load_spec
from stackctl.render.haproxy import HaproxyLayout
from tests.helpers import free_port, haproxy_folder_config, hash_tree, native_haproxy, require_tool, run_cli

ALIASES = ["photo.example.com", "pics.example.org"]


def _create(stack_dir: Path, *extra: str) -> None:
    result = run_cli("--dir", str(stack_dir), "certs", "create", *extra)
    assert result.code == 0, result.err


def _ca_path(stack_dir: Path) -> str:
    result = run_cli("--dir", str(stack_dir), "certs", "ca", "--path")
    assert result.code == 0, result.err
    return result.out.strip()


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ecdsa-p384", "rsa-2048"])
def test_issued_leaf_verifies_with_openssl_against_the_stack_ca(stack_dir: Path, key_type: str) -> None:
    openssl = require_tool("openssl")
    spec_file = stack_dir / "stack.yaml"
    spec_file.write_text(spec_file.read_text().replace("key_type: ecdsa-p256", f"key_type: {key_type}"))
    _create(stack_dir)
    leaf = stack_dir / "certs/sites/photos.example.com/cert.pem"
    result = subprocess.run(
        [openssl, "verify", "-CAfile", _ca_path(stack_dir), "-purpose", "sslserver", str(leaf)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0 and result.stdout.strip().endswith(": OK"), result.stderr
    data = json.loads(run_cli("--dir", str(stack_dir), "certs", "show", "--json").out)
    assert data["certificates"][0]["key_type"] == key_type


def test_openssl_verify_fails_for_a_foreign_ca(stack_dir: Path, tmp_path: Path) -> None:
    """Guards the test above: a leaf from another stack's CA must not verify."""
    openssl = require_tool("openssl")
    other = tmp_path / "other"
    other.mkdir()
    assert run_cli("--dir", str(other), "init", "--domain", "photos.example.com").code == 0
    _create(other)
    _create(stack_dir)
    result = subprocess.run(
        [openssl, "verify", "-CAfile", _ca_path(stack_dir), str(other / "certs/sites/photos.example.com/cert.pem")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0


def test_keys_and_bundles_are_private_and_folders_0700(stack_dir: Path) -> None:
    _create(stack_dir)
    certs = stack_dir / "certs"
    for folder in [certs, *[p for p in certs.rglob("*") if p.is_dir()]]:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for secret in [*certs.rglob("*.key"), *certs.rglob("key.pem"), *(certs / "haproxy").iterdir()]:
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600, secret


def test_leaf_is_short_lived_and_serves_every_name_over_real_tls(stack_dir: Path) -> None:
    spec_file = stack_dir / "stack.yaml"
    spec_file.write_text(spec_file.read_text().replace("aliases: []", f"aliases: [{', '.join(ALIASES)}]"))
    _create(stack_dir)
    spec = load_spec(spec_file)
    store = CertStore(stack_dir / "certs")
    site = store.read_site(spec.first_site.domain)
    assert site is not None
    assert site.leaf.not_valid_after_utc - site.leaf.not_valid_before_utc <= dt.timedelta(days=90, minutes=5)
    https, backend = free_port(), free_port()
    layout = HaproxyLayout(
        public_bind="127.0.0.1", https_port=https, http_port=free_port(), stats_bind="127.0.0.1",
        stats_port=free_port(), certs_dir=f"{store.bundles}/", socket_path=str(stack_dir / "admin.sock"),
        backend_address=f"127.0.0.1:{backend}",
    )  # fmt: skip
    ctx = ssl.create_default_context(cafile=_ca_path(stack_dir))  # trusts only the stack CA, checks host names
    with native_haproxy(haproxy_folder_config(spec, layout, stack_dir), stack_dir, {"STATS_PASSWORD": "x"}, [https]):
        for name in spec.first_site.names:
            with (
                socket.create_connection(("127.0.0.1", https), timeout=5) as raw,
                ctx.wrap_socket(raw, server_hostname=name) as tls,
            ):
                assert tls.getpeercert() is not None
        with (
            pytest.raises(ssl.SSLCertVerificationError),
            socket.create_connection(("127.0.0.1", https), timeout=5) as raw,
        ):
            ctx.wrap_socket(raw, server_hostname="not-in-the-cert.example.com")


def test_bundle_passes_haproxy_check(stack_dir: Path) -> None:
    haproxy = require_tool("haproxy")
    _create(stack_dir)
    spec = load_spec(stack_dir / "stack.yaml")
    layout = HaproxyLayout(certs_dir=f"{stack_dir / 'certs/haproxy'}/", socket_path=str(stack_dir / "s.sock"))
    cfg = stack_dir / "check.cfg"
    cfg.write_text(haproxy_folder_config(spec, layout, stack_dir))
    result = subprocess.run(
        [haproxy, "-c", "-f", str(cfg)], capture_output=True, text=True,
        env={**os.environ, "STATS_PASSWORD": "x"}, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_show_json_follows_the_schema(stack_dir: Path) -> None:
    _create(stack_dir)
    data = json.loads(run_cli("--dir", str(stack_dir), "certs", "show", "--json").out)
    (cert,) = data["certificates"]
    assert set(cert) - {"last_renewal"} == {
        "domain", "names", "source", "issuer", "serial", "key_type", "not_before", "not_after",
        "days_left", "renew_after", "due", "due_reason", "fingerprint_sha256", "path",
    }  # fmt: skip
    assert cert["domain"] == "photos.example.com" and cert["names"] == ["photos.example.com"]
    assert cert["source"] == "local-ca" and cert["due"] is False and 88 <= cert["days_left"] <= 90
    int(cert["serial"], 16)
    for key in ("not_before", "not_after", "renew_after"):
        assert cert[key].endswith("Z")
        dt.datetime.fromisoformat(cert[key].replace("Z", "+00:00"))


def test_create_keeps_a_valid_certificate_and_force_replaces_it(stack_dir: Path) -> None:
    _create(stack_dir)
    before = hash_tree(stack_dir)
    result = run_cli("--dir", str(stack_dir), "certs", "create")
    assert "exists" in result.out and hash_tree(stack_dir) == before
    serial = json.loads(run_cli("--dir", str(stack_dir), "certs", "show", "--json").out)["certificates"][0]["serial"]
    _create(stack_dir, "--force")
    after = json.loads(run_cli("--dir", str(stack_dir), "certs", "show", "--json").out)["certificates"][0]["serial"]
    assert after != serial


def test_renew_if_due_is_silent_when_nothing_is_due_and_force_renews(stack_dir: Path) -> None:
    _create(stack_dir)
    before = hash_tree(stack_dir)
    quiet = run_cli("--dir", str(stack_dir), "certs", "renew", "--if-due")
    assert (quiet.code, quiet.out, quiet.err) == (0, "", "")
    assert hash_tree(stack_dir) == before
    assert "Not due" in run_cli("--dir", str(stack_dir), "certs", "renew").out
    forced = run_cli("--dir", str(stack_dir), "certs", "renew", "--force")
    assert forced.code == 0 and "Renewed the certificate" in forced.out
    assert "exit codes:" in run_cli("certs", "renew", "--help").out


def test_adding_an_alias_makes_renewal_due(stack_dir: Path) -> None:
    _create(stack_dir)
    spec_file = stack_dir / "stack.yaml"
    spec_file.write_text(spec_file.read_text().replace("aliases: []", "aliases: [photo.example.com]"))
    result = run_cli("--dir", str(stack_dir), "certs", "renew", "--if-due")
    assert result.code == 0 and '"photo.example.com"' in result.out


def test_ca_instructions_and_missing_ca(stack_dir: Path) -> None:
    missing = run_cli("--dir", str(stack_dir), "certs", "ca")
    assert missing.code == 1 and "certs create" in missing.err
    _create(stack_dir)
    text = run_cli("--dir", str(stack_dir), "certs", "ca").out
    for system in ("Debian/Ubuntu", "Fedora", "macOS", "Windows", "Firefox"):
        assert system in text
    assert "BEGIN" not in text  # never key material


def _info(days: float) -> CertInfo:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    return CertInfo((), "x", "1", "ecdsa-p256", start, start + dt.timedelta(days=days), "")


@pytest.mark.parametrize("days", [90, 7])
def test_renewal_is_due_at_exactly_one_third_remaining(days: int) -> None:
    info = _info(days)
    third = dt.timedelta(days=days) / 3
    at_third = info.not_after - third
    assert info.renew_after == at_third
    assert info.due(at_third)
    assert not info.due(at_third - dt.timedelta(seconds=1))
    assert info.due(info.not_after + dt.timedelta(days=1))


def test_a_90_day_certificate_renews_with_30_days_left_and_a_7_day_one_with_about_2() -> None:
    assert _info(90).renew_after == _info(90).not_before + dt.timedelta(days=60)
    assert _info(7).not_after - _info(7).renew_after == dt.timedelta(days=7) / 3
