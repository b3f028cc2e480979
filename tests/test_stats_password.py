"""The stats password on one host: haproxy.cfg holds its bcrypt hash (never the password), the same
password renders the same config, and a HAProxy container an earlier stackctl made with the password in
its environment still matches (it is kept), while the rotation knows it cannot change it without a new
container."""

from __future__ import annotations

from pathlib import Path

import bcrypt

from stackctl.config.layout import StackPaths
from stackctl.config.secrets import read_env_file
from stackctl.config.spec import load_spec
from stackctl.engines.docker.engine import OneHostForm
from stackctl.engines.model import services
from stackctl.flows.generated import rendered
from stackctl.render.stats_password import stats_password_hash
from tests.fakes import FakeEngine
from tests.helpers import run_cli

DOMAIN = "photos.example.com"


def _stack(tmp_path: Path) -> StackPaths:
    assert run_cli("--dir", str(tmp_path), "init", "--domain", DOMAIN).code == 0
    return StackPaths(tmp_path)


def test_haproxy_cfg_holds_the_hash_of_the_stats_password_and_never_the_password(tmp_path: Path) -> None:
    paths = _stack(tmp_path)
    password = read_env_file(paths.secrets / "haproxy.env")["STATS_PASSWORD"]
    spec = load_spec(paths.spec)
    files = OneHostForm().render_files(paths, spec, None)
    cfg = files["compose/haproxy/haproxy.cfg"]
    line = next(line for line in cfg.splitlines() if line.strip().startswith("user admin"))
    hashed = line.split()[-1]
    assert line.split()[2] == "password" and bcrypt.checkpw(password.encode(), hashed.encode())
    assert password not in cfg and password not in files["compose/compose.yaml"]
    assert "haproxy.env" not in files["compose/compose.yaml"]  # HAProxy's container has no password in it
    assert stats_password_hash(password) == hashed  # the same password, the same config
    assert rendered(paths, spec, FakeEngine(tmp_path))["compose/haproxy/haproxy.cfg"] == cfg


def test_a_haproxy_container_made_with_the_password_in_its_environment_still_matches(tmp_path: Path) -> None:
    paths = _stack(tmp_path)
    haproxy = services(load_spec(paths.spec), paths, only="haproxy")[0]
    assert "STATS_PASSWORD" not in haproxy.environment
    assert haproxy.legacy_environment is not None
    earlier = haproxy._hash(haproxy.options, haproxy.legacy_environment)  # as an earlier stackctl labelled it
    assert haproxy.matches(earlier) and haproxy.made_with_legacy_environment(earlier)
    assert haproxy.matches(haproxy.config_hash) and not haproxy.made_with_legacy_environment(haproxy.config_hash)
    env = paths.secrets / "haproxy.env"
    env.write_text(env.read_text().replace("STATS_PASSWORD=", "STATS_PASSWORD=x"))
    rotated = services(load_spec(paths.spec), paths, only="haproxy")[0]
    assert rotated.config_hash == haproxy.config_hash  # a new password leaves the container as it is...
    assert not rotated.matches(earlier)  # ...unless an earlier stackctl made it


def test_mariadbs_init_only_passwords_are_not_in_its_containers_hash(tmp_path: Path) -> None:
    paths = _stack(tmp_path)
    mariadb = services(load_spec(paths.spec), paths, only="mariadb")[0]
    earlier = mariadb._hash(mariadb.options, mariadb.environment)  # an earlier stackctl hashed them
    assert mariadb.matches(earlier) and not mariadb.matches_whatever_init_only_env(earlier)
    env = paths.secrets / "mariadb.env"
    env.write_text(env.read_text().replace("MARIADB_PASSWORD=", "MARIADB_PASSWORD=x"))
    rotated = services(load_spec(paths.spec), paths, only="mariadb")[0]
    assert rotated.config_hash == mariadb.config_hash and rotated.matches_whatever_init_only_env(mariadb.config_hash)
