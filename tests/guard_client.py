"""Logins through the stack's HTTPS from a client address of the test's choosing: curl in a network
namespace the test created (the edge sees that namespace's address), on this host (127.0.0.1), or from
a loopback address of its own to a native HAProxy (`login_at`)."""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import subprocess
from dataclasses import dataclass

from tests.helpers import require_tool
from tests.netns import Namespace


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    retry_after: str  # "" when the answer has none


def request_from(
    namespace: Namespace | None, port: int, domain: str, ca: str, method: str, path: str,
    headers: tuple[str, ...] = (), data: str | None = None,
) -> Answer:  # fmt: skip
    """One HTTPS request with curl, from the namespace (or from 127.0.0.1 without one)."""
    address = namespace.host_ip if namespace is not None else "127.0.0.1"
    address = f"[{address}]" if ":" in address else address
    argv = [
        *(namespace.enter if namespace is not None else ()),
        require_tool("curl"), "-sS", "--cacert", ca, "--resolve", f"{domain}:{port}:{address}", "-X", method,
        "-w", "\n%{http_code} %header{retry-after}", "--max-time", "20",
        *(part for header in headers for part in ("-H", header)),
    ]  # fmt: skip
    if data is not None:
        argv += ["--data", data]
    result = subprocess.run([*argv, f"https://{domain}:{port}{path}"], capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    body, _, last = result.stdout.decode(errors="replace").rpartition("\n")
    status, _, retry_after = last.partition(" ")
    return Answer(int(status), body, retry_after.strip())


def https_from(
    namespace: Namespace | None, port: int, domain: str, ca: str, path: str, body: dict[str, str] | None = None
) -> tuple[int, str]:
    """(status, Retry-After or "") of one request: a POST of `body` as JSON, or a GET without one."""
    if body is None:
        answer = request_from(namespace, port, domain, ca, "GET", path)
    else:
        json_body = ("Content-Type: application/json",)
        answer = request_from(namespace, port, domain, ca, "POST", path, json_body, json.dumps(body))
    return answer.status, answer.retry_after


def login_from(namespace: Namespace | None, port: int, domain: str, ca: str, password: str) -> tuple[int, str]:
    return https_from(namespace, port, domain, ca, "/api/v1/session", {"username": "admin", "password": password})


def https_at(
    address: str, port: int, source: str, domain: str, cafile: str, method: str, path: str,
    body: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    """One HTTPS request to address:port from the loopback address `source`: (status, headers, body)."""
    ctx = ssl.create_default_context(cafile=cafile)
    raw = socket.create_connection((address, port), timeout=5, source_address=(source, 0))
    conn = http.client.HTTPSConnection(address, port, context=ctx, timeout=5)
    conn.sock = ctx.wrap_socket(raw, server_hostname=domain)
    payload = json.dumps(body, separators=(",", ":")).encode() if body is not None else None  # as a browser
    conn.request(method, path, body=payload, headers={"Host": domain, "Content-Type": "application/json"})
    response = conn.getresponse()
    result = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    conn.close()
    return result


def login_at(address: str, port: int, source: str, domain: str, cafile: str, password: str) -> int:
    body = {"username": "admin", "password": password}
    return https_at(address, port, source, domain, cafile, "POST", "/api/v1/session", body)[0]


# The stand-in's one share link (tests/images/photoprism-standin.py)
SHARE, SHARED_ALBUM = "/s/3bt8qvxkh4/holidays", "as6sg6bxpogaaba8"
SHARE_DOMAIN = "photos.example.com"


def open_share_page(port: int, ca: str, who: Namespace | None) -> list[str]:
    """What a browser does with the stand-in's share link, from the namespace (or 127.0.0.1): the page,
    its assets, the token redeemed, the album, its thumbnails and downloads, a Range request. Returns
    every URL it loaded (each must answer 2xx)."""

    def get(path: str, *headers: str) -> Answer:
        return request_from(who, port, SHARE_DOMAIN, ca, "GET", path, headers)

    page = get(SHARE)
    assert page.status == 200, page
    assets = re.findall(r'(?:href|src|content)="(/[^"]+)"', page.body)
    token = json.loads(re.search(r"window.__SHARED__ = (\{.*?\});", page.body).group(1))["token"]  # type: ignore[union-attr]
    redeemed = request_from(
        who, port, SHARE_DOMAIN, ca, "POST", "/api/v1/session", ("Content-Type: application/json",),
        json.dumps({"token": token}, separators=(",", ":")),
    )  # fmt: skip
    assert redeemed.status == 200, redeemed
    visitor = f"X-Auth-Token: {json.loads(redeemed.body)['access_token']}"
    loaded = [SHARE, *assets, "/api/v1/session"]
    album_uri = f"/library/albums/{SHARED_ALBUM}/holidays"
    assert get(album_uri).status == 200
    album = get(f"/api/v1/albums/{SHARED_ALBUM}", visitor)
    assert album.status == 200, album
    for url in [*assets, *json.loads(album.body)["Thumbs"], *json.loads(album.body)["Downloads"]]:
        answer = get(url)
        assert answer.status == 200, (url, answer)
    assert get(json.loads(album.body)["Downloads"][0], "Range: bytes=0-99").status == 206
    return [*loaded, album_uri, *json.loads(album.body)["Thumbs"]]
