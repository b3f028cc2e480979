"""TLS per Mozilla's current guideline: the OpenSSL an image's HAProxy runs on, read from `haproxy -vv`
once per image ID, decides whether the hybrid post-quantum group X25519MLKEM768 comes first; there is
no DHE anywhere; `tls.profile: modern` is TLS 1.3 only."""

from __future__ import annotations

import json
import re
from pathlib import Path

from stackctl.config.layout import StackPaths
from stackctl.config.spec import load_spec, spec_from_data
from stackctl.engines.base import ImageDetails
from stackctl.engines.features import edge_features, refresh_features
from stackctl.engines.haproxy_build import parse_haproxy_vv
from stackctl.render import render_stack
from stackctl.render.haproxy import EdgeFeatures
from tests.fakes import FakeEngine
from tests.helpers import run_cli
from tests.specs import example

DEBIAN_12 = """HAProxy version 2.6.12-1+deb12u4 2026/08/20 - https://haproxy.org/
Feature list : -51DEGREES +ACCEPT4 +BACKTRACE -QUIC +OPENSSL +SLZ
Built with OpenSSL version : OpenSSL 3.0.22 25 Aug 2026
Running on OpenSSL version : OpenSSL 3.0.19 27 Jan 2026
"""
DEBIAN_13 = """HAProxy version 3.0.11-1+deb13u4 2026/10/15 - https://haproxy.org/
Feature list : +ACCEPT4 +OPENSSL +QUIC +QUIC_OPENSSL_COMPAT
Built with OpenSSL version : OpenSSL 3.5.7 9 Jun 2026
Running on OpenSSL version : OpenSSL 3.5.9 29 Sep 2026
"""
# From 3.2 on, haproxy -vv says "SSL library" (the library may be AWS-LC or wolfSSL).
DEBIAN_SID = """HAProxy version 3.2.26-1 2026/10/14 - https://haproxy.org/
Feature list : +ACCEPT4 +OPENSSL -OPENSSL_AWSLC -OPENSSL_WOLFSSL +QUIC -QUIC_OPENSSL_COMPAT +ACME
Built with SSL library version : OpenSSL 3.6.5 29 Sep 2026
Running on SSL library version : OpenSSL 3.6.5 29 Sep 2026
"""
IMAGE = ImageDetails("sha256:" + "d" * 64, None, "2026-11-01T00:00:00Z", "3.2")
HYBRID = "curves X25519MLKEM768:X25519:prime256v1:secp384r1"
CLASSIC = "curves X25519:prime256v1:secp384r1"


def test_the_openssl_version_is_read_from_haproxy_vv() -> None:
    old, mid, new = parse_haproxy_vv(DEBIAN_12), parse_haproxy_vv(DEBIAN_13), parse_haproxy_vv(DEBIAN_SID)
    assert (old.openssl, old.quic, old.hybrid_groups) == ((3, 0, 19), False, False)
    assert (mid.openssl, mid.quic, mid.quic_openssl_compat, mid.hybrid_groups) == ((3, 5, 9), True, True, True)
    assert (new.openssl, new.quic, new.quic_openssl_compat, new.hybrid_groups) == ((3, 6, 5), True, False, True)
    assert parse_haproxy_vv(DEBIAN_SID.replace("OpenSSL 3.6.5", "AWS-LC 1.60.0")).openssl is None
    assert parse_haproxy_vv("HAProxy version 3.2\n").openssl is None  # it does not say: no hybrid group


def _cfg(features: EdgeFeatures, data: dict[str, object] | None = None) -> str:
    spec = spec_from_data(data) if data else example("minimal")
    return render_stack(spec, None, features)["compose/haproxy/haproxy.cfg"]


def test_the_hybrid_group_comes_first_only_where_openssl_has_it_and_no_dhe_anywhere() -> None:
    hybrid, classic = _cfg(EdgeFeatures(hybrid_groups=True)), _cfg(EdgeFeatures())
    assert hybrid.count(HYBRID) == 2 and HYBRID not in classic  # the TCP listener and the doctor's
    assert classic.count(CLASSIC) == 2
    for cfg in (hybrid, classic):
        assert not re.search(r"(?<!EC)DHE", cfg) and "dh-param" not in cfg
        assert "ssl-min-ver TLSv1.2" in cfg and "ssl-default-bind-ciphers ECDHE-" in cfg


def test_modern_is_tls_1_3_only() -> None:
    cfg = _cfg(EdgeFeatures(), {"domain": "photos.example.com", "tls": {"profile": "modern"}})
    assert "ssl-min-ver TLSv1.3" in cfg and "ssl-default-bind-ciphers " not in cfg
    assert "ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:" in cfg


def test_up_asks_the_image_once_even_without_http3_and_an_older_file_is_asked_again(tmp_path: Path) -> None:
    assert run_cli("--dir", str(tmp_path), "init", "--domain", "photos.example.com").code == 0
    (tmp_path / "stack.yaml").write_text("domain: photos.example.com\nports: {http3: false}\n")
    paths = StackPaths(tmp_path)
    spec = load_spec(paths.spec)
    engine = FakeEngine(paths.root, images={spec.images.haproxy: IMAGE}, openssl=(3, 6, 0))
    paths.compose_dir.mkdir(exist_ok=True)
    features_file = paths.compose_dir / ".haproxy-features.json"
    features_file.write_text(json.dumps({"image": spec.images.haproxy, "id": IMAGE.id, "quic": False}))
    refresh_features(engine, paths, spec)  # an earlier stackctl's file, without "openssl"
    refresh_features(engine, paths, spec)
    assert engine.calls.count(f"haproxy -vv {spec.images.haproxy}") == 1
    assert json.loads(features_file.read_text())["openssl"] == "3.6.0"
    assert edge_features(paths, spec) == EdgeFeatures(http3=False, limited_quic=False, hybrid_groups=True)
