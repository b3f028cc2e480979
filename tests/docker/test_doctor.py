"""`stackctl doctor` on a running stack: it passes on a healthy one and leaves nothing behind, and it
names the trusted proxy when PhotoPrism does not trust HAProxy (the stand-in's STANDIN_TRUSTED_PROXY
stands for a wrong TrustedProxy in PhotoPrism's options.yml)."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.docker.conftest import Stack

CHECKS = ["login", "websocket", "range", "site_url", "webdav", "upload", "client_address", "throttle"]


def _doctor(stack: Stack, *extra: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = stack.cli("doctor", "--json", *extra)
    return code, json.loads(out) if out.strip() else {}, err


def _outcomes(result: dict[str, Any]) -> dict[str, str]:
    (site,) = result["sites"]
    return {check["check"]: check["outcome"] for check in site["checks"]}


def _leftovers(stack: Stack) -> str:
    """What the doctor could have left in PhotoPrism's folders."""
    found = stack.container("photoprism").exec_run(
        ["sh", "-c", "ls -A /photoprism/storage/users/*/upload/ /photoprism/originals/ 2>/dev/null; true"]
    )
    return found.output.decode()


def test_doctor_passes_on_a_healthy_stack_and_leaves_nothing_behind(stack_each_haproxy: Stack) -> None:
    stack = stack_each_haproxy
    stack.up()
    code, result, err = _doctor(stack)  # the default: a 1 GiB upload
    assert code == 0, (err, result)
    assert _outcomes(result) == dict.fromkeys(CHECKS, "pass"), result
    details = {c["check"]: c["detail"] for c in result["sites"][0]["checks"]}
    assert details["upload"].startswith("1 GiB in "), details
    assert "192.0.2." in details["client_address"] and "after 10 failed logins" in details["throttle"], details
    assert "stackctl-doctor" not in _leftovers(stack)
    code, status, _ = stack.cli("status", "--json")
    assert json.loads(status)["sites"][0]["login_guard"]["banned"] == []  # the test address's ban is lifted
    _, password, _ = stack.cli("secrets", "show", "admin")
    assert password.strip() not in json.dumps(result) + err

    code, out, err = stack.cli("doctor", "--upload-size", "1MiB")  # the terminal report
    assert code == 0, err
    assert "every check passes" in out and "│ fail" not in out, out


def test_doctor_names_the_trusted_proxy_when_photoprism_does_not_trust_haproxy(stack: Stack) -> None:
    stack.edit("env: {}", 'env: {STANDIN_TRUSTED_PROXY: "203.0.113.0/24"}')
    stack.up()
    code, result, _ = _doctor(stack, "--upload-size", "1MiB")
    assert code == 1
    outcomes = _outcomes(result)
    assert outcomes["client_address"] == "fail" and outcomes["throttle"] == "skip", outcomes
    (address,) = [c for c in result["sites"][0]["checks"] if c["check"] == "client_address"]
    subnet = re.search(r"subnet: (\S+)", (stack.root / "stack.yaml").read_text()).group(1)  # type: ignore[union-attr]
    assert "does not trust HAProxy" in address["detail"], address
    assert f"must include HAProxy's network {subnet}" in address["fix"], address
    assert f"PHOTOPRISM_TRUSTED_PROXY={subnet}" in address["fix"], address
    assert "stackctl-doctor" not in _leftovers(stack)


def test_doctor_refuses_an_upstream_site_and_a_stack_that_is_not_running(stack: Stack) -> None:
    code, _, err = stack.cli("doctor")
    assert code == 1 and "the stack is not running" in err, err
    code, _, err = stack.cli("doctor", "--site", "nowhere.example.com")
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
