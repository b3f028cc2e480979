"""certs import: 15+ bad inputs refused with one line and no change; the usual good shapes accepted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtensionOID

from stackctl.certs.store import CertStore
from stackctl.config.spec import load_spec
from tests.certfactory import CLIENT_AUTH_ONLY, NOW, Pki, csr_pem, make_cert, make_pki, p12
from tests.helpers import hash_tree, run_cli

DOMAIN = "photos.example.com"


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


def _write(folder: Path, name: str, data: bytes) -> str:
    path = folder / name
    path.write_bytes(data)
    return str(path)


Case = Callable[[Pki, Path], list[str]]


def mismatched_key(pki: Pki, d: Path) -> list[str]:
    leaf, other = pki.leaf([DOMAIN]), pki.leaf([DOMAIN])
    return [_write(d, "c.pem", leaf.cert_pem), "--key", _write(d, "k.pem", other.key_pem())]


def expired(pki: Pki, d: Path) -> list[str]:
    leaf = pki.leaf([DOMAIN], not_before=NOW - dt.timedelta(days=100), not_after=NOW - dt.timedelta(days=1))
    return [_write(d, "c.pem", leaf.cert_pem + leaf.key_pem())]


def not_yet_valid(pki: Pki, d: Path) -> list[str]:
    leaf = pki.leaf([DOMAIN], not_before=NOW + dt.timedelta(days=2), not_after=NOW + dt.timedelta(days=90))
    return [_write(d, "c.pem", leaf.cert_pem + leaf.key_pem())]


def names_not_covered(pki: Pki, d: Path) -> list[str]:
    leaf = pki.leaf(["other.example.com"])
    return [_write(d, "c.pem", leaf.cert_pem + leaf.key_pem())]


def wildcard_too_deep(pki: Pki, d: Path) -> list[str]:
    leaf = pki.leaf(["*.example.com"])
    (d.parent / "stack" / "stack.yaml").write_text("domain: a.photos.example.com\n")
    return [_write(d, "c.pem", leaf.cert_pem + leaf.key_pem())]


def wildcard_does_not_cover_apex(pki: Pki, d: Path) -> list[str]:
    leaf = pki.leaf(["*.example.com"])
    (d.parent / "stack" / "stack.yaml").write_text("domain: photos.example.com\naliases: [example.com]\n")
    return [_write(d, "c.pem", leaf.cert_pem + leaf.key_pem())]


def wrong_p12_password(pki: Pki, d: Path) -> list[str]:
    leaf = pki.leaf([DOMAIN])
    return [
        _write(d, "site.p12", p12(leaf, [pki.intermediate], b"right")),
        "--password-file",
        _write(d, "pw", b"wrong\n"),
    ]


def p12_without_password(pki: Pki, d: Path) -> list[str]:
    leaf = pki.leaf([DOMAIN])
    return [_write(d, "site.pfx", p12(leaf, [pki.intermediate], b"secret"))]


def encrypted_key_without_password(pki: Pki, d: Path) -> list[str]:
    leaf = pki.leaf([DOMAIN])
    return [_write(d, "c.pem", leaf.cert_pem), "--key", _write(d, "k.pem", leaf.key_pem(b"pw"))]


def truncated_pem(pki: Pki, d: Path) -> list[str]:
    leaf = pki.leaf([DOMAIN])
    return [_write(d, "c.pem", (leaf.cert_pem + leaf.key_pem())[:-80])]


def a_csr(pki: Pki, d: Path) -> list[str]:
    return [_write(d, "req.pem", csr_pem([DOMAIN]))]


def rsa_1024(pki: Pki, d: Path) -> list[str]:
    leaf = pki.leaf([DOMAIN], key=rsa.generate_private_key(public_exponent=65537, key_size=1024))
    return [_write(d, "c.pem", leaf.cert_pem + leaf.key_pem())]


def ca_as_leaf(pki: Pki, d: Path) -> list[str]:
    ca = make_cert(DOMAIN, pki.root, [DOMAIN], ca=True)
    return [_write(d, "c.pem", ca.cert_pem + ca.key_pem())]


def client_auth_only(pki: Pki, d: Path) -> list[str]:
    leaf = pki.leaf([DOMAIN], eku=CLIENT_AUTH_ONLY)
    return [_write(d, "c.pem", leaf.cert_pem + leaf.key_pem())]


def empty_file(pki: Pki, d: Path) -> list[str]:
    return [_write(d, "c.pem", b"")]


def missing_file(pki: Pki, d: Path) -> list[str]:
    return [str(d / "nope.pem")]


def a_directory(pki: Pki, d: Path) -> list[str]:
    (d / "folder.pem").mkdir()
    return [str(d / "folder.pem")]


def no_key(pki: Pki, d: Path) -> list[str]:
    return [_write(d, "c.pem", pki.leaf([DOMAIN]).cert_pem)]


def garbage(pki: Pki, d: Path) -> list[str]:
    return [_write(d, "c.crt", b"hello, this is not a certificate\n")]


def ed25519_leaf_and_key(pki: Pki, d: Path) -> list[str]:
    leaf = pki.leaf([DOMAIN], key=ed25519.Ed25519PrivateKey.generate())
    return [_write(d, "c.pem", leaf.cert_pem + leaf.key_pem())]


def ed25519_leaf_with_an_ecdsa_key(pki: Pki, d: Path) -> list[str]:
    leaf, other = pki.leaf([DOMAIN], key=ed25519.Ed25519PrivateKey.generate()), pki.leaf([DOMAIN])
    return [_write(d, "c.pem", leaf.cert_pem), "--key", _write(d, "k.pem", other.key_pem())]


def malformed_san(pki: Pki, d: Path) -> list[str]:
    key = ec.generate_private_key(ec.SECP256R1())
    broken = x509.UnrecognizedExtension(ExtensionOID.SUBJECT_ALTERNATIVE_NAME, b"\x30\x03\x82\x05a")
    cert = (
        x509.CertificateBuilder()
        .subject_name(pki.root.cert.subject)
        .issuer_name(pki.intermediate.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(broken, critical=False)
        .sign(pki.intermediate.key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return [_write(d, "c.pem", pem + key_pem)]


def openssl_style_self_signed(pki: Pki, d: Path) -> list[str]:
    """What `openssl req -x509 -newkey ...` makes: self-signed, with basicConstraints CA:TRUE."""
    leaf = make_cert(DOMAIN, None, [DOMAIN], ca=True)
    return [_write(d, "c.pem", leaf.cert_pem + leaf.key_pem())]


def two_keys(pki: Pki, d: Path) -> list[str]:
    leaf, other = pki.leaf([DOMAIN]), pki.leaf([DOMAIN])
    return [_write(d, "c.pem", leaf.cert_pem + leaf.key_pem() + other.key_pem())]


def p384_is_fine_but_p521_is_not(pki: Pki, d: Path) -> list[str]:
    leaf = pki.leaf([DOMAIN], key=ec.generate_private_key(ec.SECP521R1()))
    return [_write(d, "c.pem", leaf.cert_pem + leaf.key_pem())]


def unknown_pem_block(pki: Pki, d: Path) -> list[str]:
    return [_write(d, "c.pem", b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n")]


BAD: list[tuple[Case, str]] = [
    (ed25519_leaf_and_key, "unsupported key type"),
    (ed25519_leaf_with_an_ecdsa_key, "does not match"),
    (malformed_san, "malformed extension"),
    (openssl_style_self_signed, "browsers such as Firefox refuse"),
    (two_keys, "2 private keys"),
    (p384_is_fine_but_p521_is_not, "secp521r1"),
    (unknown_pem_block, "damaged or in an unknown format"),
    (mismatched_key, "does not match"),
    (expired, "expired on"),
    (not_yet_valid, "not valid yet"),
    (names_not_covered, "does not cover photos.example.com"),
    (wildcard_too_deep, "does not cover a.photos.example.com"),
    (wildcard_does_not_cover_apex, "does not cover example.com"),
    (wrong_p12_password, "wrong password for the PKCS#12 file"),
    (p12_without_password, "without a password"),
    (encrypted_key_without_password, "private key is encrypted"),
    (truncated_pem, "truncated PEM"),
    (a_csr, "certificate signing request"),
    (rsa_1024, "RSA-1024, too weak"),
    (ca_as_leaf, "marked as a CA"),
    (client_auth_only, "lacks serverAuth"),
    (empty_file, "empty"),
    (missing_file, "no such file"),
    (a_directory, "is a folder"),
    (no_key, "no private key"),
    (garbage, "not a certificate, key or PKCS#12"),
]


@pytest.mark.parametrize(("case", "fragment"), BAD, ids=[c.__name__ for c, _ in BAD])
def test_bad_import_is_refused_and_changes_nothing(
    pki: Pki, stack_dir: Path, tmp_path: Path, case: Case, fragment: str
) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    argv = case(pki, inputs)
    assert run_cli("--dir", str(stack_dir), "certs", "create").code == 0  # a previous certificate exists
    before = hash_tree(stack_dir)
    result = run_cli("--dir", str(stack_dir), "certs", "import", *argv)
    assert result.code == 2, result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert "Traceback" not in result.err
    assert fragment in result.err
    assert " — " in result.err and "PRIVATE KEY" not in result.err
    assert hash_tree(stack_dir) == before


def _import(stack_dir: Path, *argv: str) -> str:
    result = run_cli("--dir", str(stack_dir), "certs", "import", *argv)
    assert result.code == 0, result.err
    assert load_spec(stack_dir / "stack.yaml").first_site.tls.source == "import"
    store = CertStore(stack_dir / "certs")
    site = store.read_site(DOMAIN)
    assert site is not None and site.source == "import"
    bundle = store.bundle(DOMAIN).read_bytes()
    assert bundle.count(b"BEGIN CERTIFICATE") == 2 and b"PRIVATE KEY" in bundle
    assert bundle.startswith(site.leaf.public_bytes(serialization.Encoding.PEM))  # leaf first, then the chain
    return result.err


def test_seed_style_concatenated_wildcard(pki: Pki, stack_dir: Path, tmp_path: Path) -> None:
    leaf = pki.leaf(["*.example.com", "example.com"])
    seed = tmp_path / "wildcard.example.com.pem"
    seed.write_bytes(leaf.cert_pem + pki.intermediate.cert_pem + leaf.key_pem())
    _import(stack_dir, str(seed))
    # The comments of stack.yaml survive the switch of tls.source.
    assert "# local-ca | import | acme" in (stack_dir / "stack.yaml").read_text()


def test_fullchain_and_separate_key(pki: Pki, stack_dir: Path, tmp_path: Path) -> None:
    leaf = pki.leaf([DOMAIN])
    chain = _write(tmp_path, "fullchain.pem", leaf.cert_pem + pki.intermediate.cert_pem)
    _import(stack_dir, chain, "--key", _write(tmp_path, "privkey.pem", leaf.key_pem()))


def test_reversed_chain_order_with_root_warns_and_orders(pki: Pki, stack_dir: Path, tmp_path: Path) -> None:
    leaf = pki.leaf([DOMAIN])
    mixed = _write(tmp_path, "all.pem", leaf.key_pem() + pki.root.cert_pem + pki.intermediate.cert_pem + leaf.cert_pem)
    err = _import(stack_dir, mixed)
    assert "root certificate" in err
    bundle = CertStore(stack_dir / "certs").bundle(DOMAIN).read_bytes()
    assert pki.root.cert_pem not in bundle


def test_separate_chain_file(pki: Pki, stack_dir: Path, tmp_path: Path) -> None:
    leaf = pki.leaf([DOMAIN])
    _import(
        stack_dir,
        _write(tmp_path, "cert.pem", leaf.cert_pem),
        "--key", _write(tmp_path, "key.pem", leaf.key_pem()),
        "--chain", _write(tmp_path, "chain.pem", pki.intermediate.cert_pem),
    )  # fmt: skip


@pytest.mark.parametrize("password", [None, b"s3cret"])
def test_pkcs12_with_and_without_password(pki: Pki, stack_dir: Path, tmp_path: Path, password: bytes | None) -> None:
    leaf = pki.leaf([DOMAIN])
    argv = [_write(tmp_path, "site.p12", p12(leaf, [pki.intermediate], password))]
    if password:
        argv += ["--password-file", _write(tmp_path, "pw.txt", password + b"\n")]
    _import(stack_dir, *argv)


@pytest.mark.parametrize("traditional", [False, True])
def test_encrypted_key_with_password(pki: Pki, stack_dir: Path, tmp_path: Path, traditional: bool) -> None:
    leaf = pki.leaf([DOMAIN])
    _import(
        stack_dir,
        _write(tmp_path, "c.pem", leaf.cert_pem + pki.intermediate.cert_pem),
        "--key", _write(tmp_path, "k.pem", leaf.key_pem(b"pw", traditional=traditional)),
        "--password-file", _write(tmp_path, "pw", b"pw"),
    )  # fmt: skip
    assert b"ENCRYPTED" not in CertStore(stack_dir / "certs").bundle(DOMAIN).read_bytes()  # HAProxy needs it plain


def test_der_certificate_with_pem_key(pki: Pki, stack_dir: Path, tmp_path: Path) -> None:
    leaf = pki.leaf([DOMAIN])
    der = leaf.cert.public_bytes(serialization.Encoding.DER)
    _import(
        stack_dir,
        _write(tmp_path, "c.der", der),
        "--key", _write(tmp_path, "k.pem", leaf.key_pem()),
        "--chain", _write(tmp_path, "i.pem", pki.intermediate.cert_pem),
    )  # fmt: skip


def test_missing_intermediate_is_a_warning_not_a_failure(pki: Pki, stack_dir: Path, tmp_path: Path) -> None:
    leaf = pki.leaf([DOMAIN])
    result = run_cli(
        "--dir", str(stack_dir), "certs", "import", _write(tmp_path, "c.pem", leaf.cert_pem + leaf.key_pem())
    )
    assert result.code == 0, result.err
    assert "warning: the chain may be incomplete" in result.err


def test_renew_of_an_import_names_expiry_and_alerts_when_due(pki: Pki, stack_dir: Path, tmp_path: Path) -> None:
    leaf = pki.leaf([DOMAIN], not_before=NOW - dt.timedelta(days=80), not_after=NOW + dt.timedelta(days=10))
    _import(stack_dir, _write(tmp_path, "c.pem", leaf.cert_pem + pki.intermediate.cert_pem + leaf.key_pem()))
    before = hash_tree(stack_dir)
    result = run_cli("--dir", str(stack_dir), "certs", "renew", "--if-due")
    assert result.code == 1
    assert "cannot renew the imported certificate" in result.err and "expires on" in result.err
    assert hash_tree(stack_dir) == before


def test_flow_style_tls_is_switched_to_import_keeping_comments(pki: Pki, stack_dir: Path, tmp_path: Path) -> None:
    (stack_dir / "stack.yaml").write_text(f"domain: {DOMAIN}  # where people go\ntls: {{source: local-ca}}  # flow\n")
    leaf = pki.leaf([DOMAIN])
    _import(stack_dir, _write(tmp_path, "c.pem", leaf.cert_pem + pki.intermediate.cert_pem + leaf.key_pem()))
    text = (stack_dir / "stack.yaml").read_text()
    assert "# where people go" in text and "# flow" in text and "source: import" in text


def test_import_for_one_site_of_several_switches_only_that_site(pki: Pki, stack_dir: Path, tmp_path: Path) -> None:
    assert run_cli("--dir", str(stack_dir), "sites", "add", "bob.example.com").code == 0
    leaf = pki.leaf(["bob.example.com"])
    files = [_write(tmp_path, "bob.pem", leaf.cert_pem + pki.intermediate.cert_pem), "--key",
             _write(tmp_path, "bob.key", leaf.key_pem())]  # fmt: skip
    refused = run_cli("--dir", str(stack_dir), "certs", "import", *files)
    assert refused.code == 2 and "needs --site DOMAIN" in refused.err
    result = run_cli("--dir", str(stack_dir), "certs", "import", *files, "--site", "bob.example.com")
    assert result.code == 0, result.err
    spec = load_spec(stack_dir / "stack.yaml")
    assert [s.tls.source for s in spec.sites] == ["local-ca", "import"]
    assert CertStore(stack_dir / "certs").read_site("bob.example.com") is not None
    assert "sites.1.tls.source: import" in result.out


def test_import_for_the_top_level_site_of_a_grown_single_site_stack_is_refused(pki: Pki, tmp_path: Path) -> None:
    from tests.helpers import single_site_yaml

    root = tmp_path / "stack"
    root.mkdir()
    (root / "stack.yaml").write_text(single_site_yaml(DOMAIN))
    assert run_cli("--dir", str(root), "init").code == 0
    assert run_cli("--dir", str(root), "sites", "add", "nas.example.com", "--upstream", "http://10.0.0.5:80").code == 0
    leaf = pki.leaf([DOMAIN])
    before = hash_tree(root)
    result = run_cli("--dir", str(root), "certs", "import", _write(tmp_path, "c.pem", leaf.cert_pem + leaf.key_pem()),
                     "--site", DOMAIN)  # fmt: skip
    assert result.code == 2 and "would switch them too" in result.err and len(result.err.strip().splitlines()) == 1
    assert hash_tree(root) == before
