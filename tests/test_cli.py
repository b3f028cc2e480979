"""The CLI in-process: init, render, plan, exit codes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from stackctl import __version__
from tests.helpers import hash_tree, require_tool, run_cli, self_signed_bundle, single_site_yaml, write_default_bundle


def test_version_and_help() -> None:
    result = run_cli("--version")
    assert result.code == 0 and result.out.strip() == f"stackctl {__version__}"
    result = run_cli("--help")
    assert result.code == 0
    assert "exit codes:" in result.out and "130" in result.out


def test_usage_error_exits_2() -> None:
    assert run_cli("no-such-command").code == 2


def test_python_dash_m_works(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stackctl", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and "stackctl" in result.stdout


def test_init_writes_stack_and_private_secrets(tmp_path: Path) -> None:
    result = run_cli("--dir", str(tmp_path), "init", "--domain", "photos.example.com")
    assert result.code == 0, result.err
    assert "domain: photos.example.com" in (tmp_path / "stack.yaml").read_text()
    assert "sites:\n  - domain: photos.example.com" in (tmp_path / "stack.yaml").read_text()  # the sites form
    assert stat.S_IMODE((tmp_path / "secrets").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "secrets/sites").stat().st_mode) == 0o700
    env_files = [*(tmp_path / "secrets").glob("*.env"), *(tmp_path / "secrets/sites").glob("*.env")]
    assert (tmp_path / "secrets/sites/photos-example-com.env") in env_files
    for env_file in env_files:
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        for line in env_file.read_text().splitlines():
            if "=" in line:
                assert line.split("=", 1)[1] not in result.out  # passwords are never printed


def test_init_refuses_to_overwrite_without_force(stack_dir: Path) -> None:
    before = hash_tree(stack_dir)
    result = run_cli("--dir", str(stack_dir), "init", "--domain", "other.example.com")
    assert result.code == 2 and "--force" in result.err
    assert hash_tree(stack_dir) == before
    secrets_before = {p: p.read_bytes() for p in (stack_dir / "secrets").rglob("*.env")}
    result = run_cli("--dir", str(stack_dir), "init", "--domain", "other.example.com", "--force")
    assert result.code == 0
    assert "domain: other.example.com" in (stack_dir / "stack.yaml").read_text()
    # A database keeps the password it was made with: --force replaces stack.yaml, never a password.
    assert all(path.read_bytes() == text for path, text in secrets_before.items())
    assert "Kept the existing passwords in secrets/photoprism.env" in result.out
    assert "secrets/sites/other-example-com.env (0600)" in result.out  # the new site gets its own
    kept = next(stack_dir.glob("stack.yaml.before-init-*"))  # the replaced stack.yaml is kept
    assert "photos.example.com" in kept.read_text() and f"as {kept.name}" in result.out


def test_init_force_keeps_the_single_site_forms_passwords_too(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(single_site_yaml("photos.example.com"))
    assert run_cli("--dir", str(tmp_path), "init").code == 0
    before = {p: p.read_bytes() for p in (tmp_path / "secrets").rglob("*.env")}
    result = run_cli("--dir", str(tmp_path), "init", "--force")
    assert result.code == 0, result.err
    assert {p: p.read_bytes() for p in before} == before
    assert "Kept the existing passwords in secrets/photoprism.env, secrets/mariadb.env, secrets/haproxy.env" in (
        result.out
    )


def test_init_rejects_a_bad_domain_and_writes_nothing(tmp_path: Path) -> None:
    result = run_cli("--dir", str(tmp_path), "init", "--domain", "bad_name.example.com")
    assert result.code == 2 and result.err.startswith("error: --domain:")
    assert list(tmp_path.iterdir()) == []


def test_init_on_an_existing_stack_yaml_only_adds_missing_secrets(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text("domain: photos.example.com\n")
    result = run_cli("--dir", str(tmp_path), "init")
    assert result.code == 0, result.err
    assert (tmp_path / "stack.yaml").read_text() == "domain: photos.example.com\n"
    assert sorted(p.name for p in (tmp_path / "secrets").iterdir()) == [
        "haproxy.env",
        "mariadb.env",
        "photoprism.env",
    ]


def test_render_then_check_then_drift(stack_dir: Path) -> None:
    first = run_cli("--dir", str(stack_dir), "render")
    assert first.code == 0
    assert "wrote: compose/compose.yaml" in first.out and "wrote: compose/haproxy/haproxy.cfg" in first.out
    assert run_cli("--dir", str(stack_dir), "render", "--check").code == 0
    second = run_cli("--dir", str(stack_dir), "render")
    assert "unchanged: compose/compose.yaml" in second.out
    spec = stack_dir / "stack.yaml"
    spec.write_text(spec.read_text().replace("https: 443", "https: 8443"))
    before = hash_tree(stack_dir)
    check = run_cli("--dir", str(stack_dir), "render", "--check")
    assert check.code == 1 and "stale: compose/compose.yaml" in check.out
    assert hash_tree(stack_dir) == before  # --check writes nothing
    plan = run_cli("--dir", str(stack_dir), "plan")
    assert plan.code == 0
    assert "+      PHOTOPRISM_SITE_URL: https://photos.example.com:8443/" in plan.out
    assert "-      PHOTOPRISM_SITE_URL: https://photos.example.com/" in plan.out
    assert hash_tree(stack_dir) == before  # plan writes nothing


def test_plan_on_a_fresh_stack_shows_whole_files_and_on_a_rendered_one_nothing(stack_dir: Path) -> None:
    plan = run_cli("--dir", str(stack_dir), "plan")
    assert "--- /dev/null" in plan.out and "+++ b/compose/haproxy/haproxy.cfg" in plan.out
    run_cli("--dir", str(stack_dir), "render")
    assert "no changes" in run_cli("--dir", str(stack_dir), "plan").out


def test_init_and_render_in_an_empty_folder_pass_haproxy_check(tmp_path: Path) -> None:
    haproxy = require_tool("haproxy")
    assert run_cli("--dir", str(tmp_path), "init", "--domain", "photos.example.com").code == 0
    assert run_cli("--dir", str(tmp_path), "render").code == 0
    # haproxy -c loads the certificates and the socket path: point the container paths at temp files.
    certs = tmp_path / "throwaway-certs"
    certs.mkdir()
    (certs / "site.pem").write_bytes(self_signed_bundle(["photos.example.com"]))
    write_default_bundle(certs)
    cfg = (tmp_path / "compose/haproxy/haproxy.cfg").read_text()
    cfg = cfg.replace("/usr/local/etc/haproxy-certs/", f"{certs}/").replace("/var/run/haproxy/", f"{tmp_path}/")
    cfg = cfg.replace("/usr/local/etc/haproxy/", f"{tmp_path}/compose/haproxy/")
    (tmp_path / "check.cfg").write_text(cfg)
    result = subprocess.run(
        [haproxy, "-c", "-f", str(tmp_path / "check.cfg")],
        capture_output=True, text=True, env={**os.environ, "STATS_PASSWORD": "x"}, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert run_cli("--dir", str(tmp_path), "render", "--check").code == 0
