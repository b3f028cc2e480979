#!/usr/bin/python3
"""Test fixture, never a default: a stdlib stand-in for PhotoPrism on port 2342.

`photoprism start` serves; `photoprism status` is the container health check (exit 0 when operational).
Endpoints: /api/v1/status ("operational" only when the database login with the given credentials
works, or for SQLite), /health, /api/v1/ws (WebSocket echo with a server ping every 15 s like
PhotoPrism), POST /api/v1/upload (byte count and SHA-256 of the body), /api/v1/headers (echo).

Versions, for upgrade tests (STANDIN_VERSION, baked into the image): like PhotoPrism, each version
migrates the database schema when it starts. v1 creates `photos`; v2 adds a `favorite` column; v3
adds a `rating` column and then never becomes healthy. STANDIN_BROKEN_FROM=N (an instance's own
environment, default 3) makes version N and later migrate and then never become healthy on that
instance alone: a release that breaks one library. GET /api/v1/photos lists the rows with the schema
version; POST /api/v1/photos?title=T adds one.

Accounts, as PhotoPrism keeps them: PHOTOPRISM_ADMIN_PASSWORD is the admin's initial password only;
`photoprism passwd [USER]` reads a new one twice from stdin ("New Password: ", "Retype Password: ") and
stores its hash in the database, after which the environment's value no longer logs in. POST
/api/v1/session (and /api/v1/sessions) with {"username", "password"} answers 200 with a session id, or
401; POST /api/v1/oauth/token creates an app password for a logged-in user who confirms their password
(grant_type=password) and answers 401 to anything else. GET /api/v1/users/<uid>/sessions lists the user's
app passwords with the ClientIP of each, which PhotoPrism takes from X-Forwarded-For only when the peer
is a trusted proxy (gin's ClientIP with PHOTOPRISM_TRUSTED_PROXY; STANDIN_TRUSTED_PROXY overrides it
for tests, as a TrustedProxy in PhotoPrism's options.yml would). DELETE /api/v1/session logs out.

Uploads to /api/v1/users/<uid>/upload/<token> as multipart/form-data are saved where PhotoPrism saves
them, storage/users/<uid>/upload/<session ref><token>/<file name>; WebDAV on /originals and /import
serves PROPFIND, PUT, MOVE and DELETE on the real folders. /favicon.ico and /static/ answer Range.
"""

import base64
import hashlib
import ipaddress
import json
import os
import re
import select
import signal
import socket
import sqlite3
import struct
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("PHOTOPRISM_HTTP_PORT", "2342"))
UPLOAD_ROUTE = re.compile(r"/api/v1/users/[^/]+/upload/[^/]+")  # internal/api/users_upload.go
# One shared album, as PhotoPrism keeps a link: /s/<token>/<slug> opens album <uid> (internal/api/share.go).
SHARE_TOKEN, SHARE_SLUG, SHARED_ALBUM = "3bt8qvxkh4", "holidays", "as6sg6bxpogaaba8"
PREVIEW_TOKEN, DOWNLOAD_TOKEN = "public", "dl4qnxvz"  # the tokens in thumbnail and download URLs
PHOTO_HASH = "2cad9168fa6acc5c5c2965ddf6ec465ca42fd818"
PHOTO_BYTES = bytes(range(256)) * 64  # what a thumbnail or a download of the one photo returns
THUMBNAIL = re.compile(r"/api/v1/t/([0-9a-f]+)/([a-z0-9]+)/([a-z0-9_]+)")
_sessions = {}  # access token -> its session (in memory, as PhotoPrism caches sessions)
ADMIN_UID = "uqxc08w3d0ej2283"
WEBDAV_ROOTS = {"/originals": "/photoprism/originals", "/import": "/photoprism/import"}
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PING_EVERY = 15.0
_db_ok_until = 0.0
VERSION = int(os.environ.get("STANDIN_VERSION", "1"))
BROKEN_FROM = int(os.environ.get("STANDIN_BROKEN_FROM", "3"))
SQLITE_PATH = "/photoprism/storage/index.db"
_schema_lock = threading.Lock()
_schema_done = False
# version -> the statements that bring the schema to it
MIGRATIONS = {
    1: ["CREATE TABLE photos (id INTEGER PRIMARY KEY {auto}, title VARCHAR(200) NOT NULL)"],
    2: ["ALTER TABLE photos ADD COLUMN favorite INTEGER NOT NULL DEFAULT 0"],
    3: ["ALTER TABLE photos ADD COLUMN rating INTEGER NOT NULL DEFAULT 0"],
}


def setting(name, default=""):
    """PHOTOPRISM_<name>, or, like PhotoPrism, the content of the file PHOTOPRISM_<name>_FILE names."""
    value = os.environ.get(f"PHOTOPRISM_{name}", "")
    path = os.environ.get(f"PHOTOPRISM_{name}_FILE", "")
    if not value and path:
        with open(path, encoding="utf-8") as f:
            value = f.read().strip()
    return value or default


def _trusted_proxies():
    text = os.environ.get("STANDIN_TRUSTED_PROXY") or os.environ.get("PHOTOPRISM_TRUSTED_PROXY", "")
    return [ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()]


def client_ip(peer, forwarded_for):
    """gin's Context.ClientIP: the X-Forwarded-For chain, walked from the right, only from a trusted peer."""
    trusted = _trusted_proxies()

    def is_trusted(text):
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return False
        return any(address in network for network in trusted)

    if not is_trusted(peer):
        return peer
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            return hop
    return hops[0] if hops else peer


def _mysql():
    return os.environ.get("PHOTOPRISM_DATABASE_DRIVER", "sqlite") != "sqlite"


def connect_database():
    if not _mysql():
        os.makedirs(os.path.dirname(SQLITE_PATH), exist_ok=True)
        return sqlite3.connect(SQLITE_PATH, timeout=10)
    import pymysql

    host, _, port = os.environ.get("PHOTOPRISM_DATABASE_SERVER", "mariadb:3306").partition(":")
    return pymysql.connect(
        host=host,
        port=int(port or 3306),
        user=os.environ.get("PHOTOPRISM_DATABASE_USER", ""),
        password=setting("DATABASE_PASSWORD"),
        database=os.environ.get("PHOTOPRISM_DATABASE_NAME", ""),
        connect_timeout=2,
        autocommit=True,
    )


def schema_version(cursor):
    cursor.execute("CREATE TABLE IF NOT EXISTS standin_migrations (version INTEGER NOT NULL)")
    cursor.execute("SELECT MAX(version) FROM standin_migrations")
    row = cursor.fetchone()
    return int(row[0] or 0)


def migrate():
    """Bring the schema up to this version, once per process (as PhotoPrism does at start)."""
    global _schema_done
    with _schema_lock:
        if _schema_done:
            return
        conn = connect_database()
        try:
            cursor = conn.cursor()
            current = schema_version(cursor)
            for version in range(current + 1, VERSION + 1):
                for statement in MIGRATIONS[version]:
                    cursor.execute(statement.format(auto="AUTO_INCREMENT" if _mysql() else "AUTOINCREMENT"))
                cursor.execute(f"INSERT INTO standin_migrations (version) VALUES ({version})")
                print(f"migrated the schema to version {version}", flush=True)
            conn.commit()
        finally:
            conn.close()
        _schema_done = True


def photos_document():
    conn = connect_database()
    try:
        cursor = conn.cursor()
        schema = schema_version(cursor)
        cursor.execute("SELECT title FROM photos ORDER BY id")
        return {"version": VERSION, "schema": schema, "photos": [row[0] for row in cursor.fetchall()]}
    finally:
        conn.close()


def add_photo(title):
    conn = connect_database()
    try:
        marker = "%s" if _mysql() else "?"
        conn.cursor().execute(f"INSERT INTO photos (title) VALUES ({marker})", (title,))
        conn.commit()
    finally:
        conn.close()


def database_problem():
    """None when PhotoPrism could use its database (migrated to this version), else why not."""
    global _db_ok_until
    if time.monotonic() < _db_ok_until:
        return None
    try:
        migrate()
        connect_database().close()
    except Exception as e:  # any failure means "not operational"
        return f"{type(e).__name__}: {e}"
    if VERSION >= BROKEN_FROM:
        return f"version {VERSION} never becomes operational here (a broken release, on purpose)"
    _db_ok_until = time.monotonic() + 5
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write(f"{self.address_string()} {fmt % args}\n")

    def _json(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/api/v1/status":
            problem = database_problem()
            if problem is None:
                self._json(200, {"status": "operational", "version": VERSION})
            else:
                self._json(503, {"status": "unavailable", "error": problem})
        elif path == "/api/v1/photos":
            self._json(200, photos_document())
        elif path == "/health":
            self._json(200, {"status": "ok"})
        elif path == "/api/v1/headers":
            self._json(
                200, {"headers": {k.lower(): v for k, v in self.headers.items()}, "peer": self.client_address[0]}
            )
        elif path == "/api/v1/ws" and self.headers.get("Upgrade", "").lower() == "websocket":
            self._websocket()
        elif path.startswith("/s/"):
            self._share_page(path)
        elif path.startswith(("/static/", "/library/")) or path in ("/favicon.ico", "/manifest.json", "/sw.js"):
            self._asset(path)
        elif re.fullmatch(r"/api/v1/users/[a-z0-9]+/sessions", path):
            self._app_sessions(path.split("/")[4])
        elif path == f"/api/v1/albums/{SHARED_ALBUM}":
            self._album()
        elif THUMBNAIL.fullmatch(path):
            ok = THUMBNAIL.fullmatch(path).group(2) == PREVIEW_TOKEN
            self._bytes(200 if ok else 403, PHOTO_BYTES if ok else b"invalid preview token", "image/jpeg")
        elif path == f"/api/v1/dl/{PHOTO_HASH}":
            self._download(self.path.partition("?")[2])
        else:
            self._json(200 if path == "/" else 404, {"standin": "photoprism", "path": path})

    def _bytes(self, status, body, content_type, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _share_page(self, path):
        """/s/<token>[/<slug>]: the share page (assets/templates/share.gohtml), or a 307 to / for a wrong
        token; /s/<token>/<slug>/preview: its preview image."""
        parts = path.strip("/").split("/")
        if parts[1:2] != [SHARE_TOKEN] or (len(parts) > 2 and parts[2] != SHARE_SLUG):
            self.send_response(307)
            self.send_header("Location", "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if parts[3:] == ["preview"]:
            self._bytes(200, PHOTO_BYTES, "image/jpeg")
            return
        shared = json.dumps({"token": SHARE_TOKEN, "uri": f"/library/albums/{SHARED_ALBUM}/{SHARE_SLUG}"})
        page = (
            '<!DOCTYPE html><html><head><link rel="stylesheet" href="/static/build/share.css">'
            '<link rel="manifest" href="/manifest.json"><link rel="icon" href="/favicon.ico">'
            f'<meta property="og:image" content="/s/{SHARE_TOKEN}/{SHARE_SLUG}/preview">'
            f"<script>window.__SHARED__ = {shared};</script></head>"
            '<body><script src="/static/build/share.js"></script></body></html>'
        )
        self._bytes(200, page.encode(), "text/html; charset=utf-8")

    def _asset(self, path):
        kind = {".css": "text/css", ".js": "text/javascript", ".json": "application/json", ".ico": "image/x-icon"}
        content_type = kind.get(os.path.splitext(path)[1], "text/html; charset=utf-8")
        self._ranged(f"/* {path} */".encode().ljust(1024, b" "), content_type)

    def _session(self):
        return _sessions.get(self.headers.get("X-Auth-Token", ""))

    def _session_role(self):
        session = self._session()
        return session["role"] if session else None

    def _client_ip(self):
        return client_ip(self.client_address[0], self.headers.get("X-Forwarded-For"))

    def _app_sessions(self, uid):
        """internal/api/users_sessions.go: the user's app passwords (provider "application")."""
        session = self._session()
        if session is None or session["role"] != "user":
            self._json(401, {"error": "Unauthorized"})
            return
        if session["uid"] != uid:
            self._json(403, [])
            return
        apps = [
            {"ID": s["ref"], "UserUID": s["uid"], "ClientName": s["client_name"], "ClientIP": s["client_ip"],
             "LoginIP": s["client_ip"], "AuthProvider": "application"}
            for s in list(_sessions.values()) if s["uid"] == uid and s["role"] == "app"
        ]  # fmt: skip
        self._json(200, apps)

    def _album(self):
        """The shared album, for its visitors and for users: its photo's thumbnail and download URLs."""
        if self._session_role() is None:
            self._json(401, {"error": "Unauthorized"})
            return
        self._json(200, {
            "UID": SHARED_ALBUM, "Slug": SHARE_SLUG,
            "Thumbs": [f"/api/v1/t/{PHOTO_HASH}/{PREVIEW_TOKEN}/tile_500"],
            "Downloads": [f"/api/v1/dl/{PHOTO_HASH}?t={DOWNLOAD_TOKEN}"],
        })  # fmt: skip

    def _download(self, query):
        """The photo's file; a Range request gets 206 with that range (internal/api/download_file.go)."""
        if urllib.parse.parse_qs(query).get("t") != [DOWNLOAD_TOKEN]:
            self._bytes(403, b"invalid download token", "text/plain")
            return
        self._ranged(PHOTO_BYTES, "image/jpeg")

    def _ranged(self, content, content_type):
        """As Go's http.ServeContent: 200 with the whole, or 206 with the range a Range header asks for."""
        wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if wanted is None:
            self._bytes(200, content, content_type, [("Accept-Ranges", "bytes")])
            return
        first = int(wanted.group(1))
        last = min(int(wanted.group(2) or len(content) - 1), len(content) - 1)
        content_range = ("Content-Range", f"bytes {first}-{last}/{len(content)}")
        self._bytes(206, content[first : last + 1], content_type, [content_range, ("Accept-Ranges", "bytes")])

    def do_POST(self):
        path, _, query = self.path.partition("?")
        if path == "/api/v1/oauth/token":
            self._oauth_token()
            return
        if path in ("/api/v1/session", "/api/v1/sessions"):  # internal/api/session_create.go
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            username = str(body.get("username", ""))
            if body.get("token") == SHARE_TOKEN:
                self._session_created("visitor")
            elif "token" not in body and logs_in(username, str(body.get("password", ""))):
                self._session_created("user", username)
            else:
                self._json(401, {"error": "Invalid credentials"})
            return
        if path == "/api/v1/photos":
            add_photo(urllib.parse.parse_qs(query).get("title", ["untitled"])[0])
            self._json(201, photos_document())
            return
        if not UPLOAD_ROUTE.fullmatch(path):
            self._json(404, {"error": "not found"})
            return
        if self.headers.get("Content-Type", "").startswith("multipart/form-data"):
            self._save_upload(path.split("/")[4], path.split("/")[6])
            return
        digest, count = hashlib.sha256(), 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                remaining = size
                while remaining:
                    chunk = self.rfile.read(min(remaining, 1 << 20))
                    digest.update(chunk)
                    count += len(chunk)
                    remaining -= len(chunk)
                self.rfile.readline()
        else:
            remaining = int(self.headers.get("Content-Length", "0"))
            while remaining:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                digest.update(chunk)
                count += len(chunk)
                remaining -= len(chunk)
        self._json(200, {"bytes": count, "sha256": digest.hexdigest()})

    def _new_session(self, role, client_name=""):
        token = os.urandom(24).hex()  # pkg/rnd/auth.go: 48 hex digits
        uid = ADMIN_UID if role in ("user", "app") else ""
        _sessions[token] = {"role": role, "uid": uid, "ref": "sess" + os.urandom(6).hex(),
                            "client_ip": self._client_ip(), "client_name": client_name}  # fmt: skip
        return token

    def _session_created(self, role, username=""):
        """As internal/api/session_response.go: gin writes the keys sorted, so access_token comes first."""
        token = self._new_session(role)
        site_url = setting("SITE_URL", f"http://localhost:{PORT}/")
        body = {"access_token": token, "config": {"filler": "x" * 20000, "siteUrl": site_url}, "id": token,
                "status": "ok", "token_type": "Bearer",
                "user": {"Role": role, "UID": _sessions[token]["uid"], "Name": username}}  # fmt: skip
        self._bytes(200, json.dumps(body, sort_keys=True, separators=(",", ":")).encode(), "application/json")

    def _oauth_token(self):
        """internal/api/oauth_token.go: grant_type=password makes an app password for the logged-in user who
        confirms their password; no OAuth client is registered here, so every other grant is refused."""
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode(errors="replace")
        form = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
        session = self._session()
        confirmed = session is not None and session["role"] == "user" and form.get("grant_type") == "password"
        if not confirmed or not logs_in(form.get("username", ""), form.get("password", "")):
            self._json(401, {"error": "Invalid credentials"})
            return
        token = self._new_session("app", form.get("client_name", ""))
        self._json(200, {"access_token": token, "expires_in": 0, "scope": "*", "token_type": "Bearer"})

    def _save_upload(self, uid, token):
        """internal/api/users_upload.go: the one file part of the form, saved to the user's upload folder."""
        session = self._session()
        if session is None or session["role"] != "user":
            self._json(401, {"error": "Unauthorized"})
            return
        if session["uid"] != uid:
            self._json(403, {"error": "Permission denied"})
            return
        boundary = self.headers.get("Content-Type", "").partition("boundary=")[2].strip('"').encode()
        remaining = int(self.headers.get("Content-Length", "0"))
        head = b""
        while b"\r\n\r\n" not in head and remaining:
            byte = self.rfile.read(1)
            head, remaining = head + byte, remaining - 1
        name = re.search(rb'filename="([^"/]+)"', head)
        if not head.startswith(b"--" + boundary) or name is None:
            self._json(400, {"error": "Upload failed"})
            return
        folder = f"/photoprism/storage/users/{uid}/upload/{session['ref']}{token}"
        os.makedirs(folder, exist_ok=True)
        ending = b"\r\n--" + boundary + b"--\r\n"
        with open(os.path.join(folder, name.group(1).decode()), "wb") as out:
            held = b""
            while remaining:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
                held += chunk
                out.write(held[: -len(ending)])
                held = held[-len(ending) :]
        if held != ending:
            self._json(400, {"error": "Upload failed"})
            return
        self._json(200, {"code": 200, "message": "1 file uploaded"})

    def do_DELETE(self):
        if self.path.split("?", 1)[0] == "/api/v1/session":  # internal/api/session_delete.go
            if _sessions.pop(self.headers.get("X-Auth-Token", ""), None) is None:
                self._json(401, {"error": "Unauthorized"})
            else:
                self._json(200, {"status": "deleted"})
            return
        local = self._webdav_path(self.path)
        if local is None:
            return
        if not os.path.exists(local):
            self._bytes(404, b"", "text/plain")
            return
        os.remove(local)
        self._bytes(204, b"", "text/plain")

    def do_PUT(self):
        local = self._webdav_path(self.path)
        if local is None:
            return
        existed = os.path.exists(local)
        with open(local, "wb") as out:
            out.write(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        self._bytes(204 if existed else 201, b"", "text/plain")

    def _webdav_path(self, url_path):
        """The file a WebDAV path names under its root, after basic auth; None once an answer is sent."""
        if not self._webdav_user():
            return None
        path = urllib.parse.unquote(urllib.parse.urlsplit(url_path).path)
        root = next((r for r in WEBDAV_ROOTS if path == r or path.startswith(r + "/")), None)
        if root is None:
            self._bytes(404, b"", "text/plain")
            return None
        local = os.path.normpath(WEBDAV_ROOTS[root] + path[len(root) :])
        if not (local + "/").startswith(WEBDAV_ROOTS[root] + "/"):
            self._bytes(403, b"", "text/plain")
            return None
        return local

    def do_PROPFIND(self):
        """WebDAV on /originals and /import (internal/server/routes_webdav.go): basic auth as the admin."""
        local = self._webdav_path(self.path)
        if local is None:
            return
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if not os.path.exists(local):
            self._bytes(404, b"", "text/plain")
            return
        href = self.path.split("?", 1)[0]
        body = (
            '<?xml version="1.0"?><D:multistatus xmlns:D="DAV:">'
            f"<D:response><D:href>{href}</D:href></D:response></D:multistatus>"
        )
        self._bytes(207, body.encode(), "application/xml; charset=utf-8")

    def do_MOVE(self):
        local = self._webdav_path(self.path)
        if local is None:
            return
        destination = urllib.parse.urlsplit(self.headers.get("Destination", "")).path
        target = self._webdav_target(destination)
        if not os.path.exists(local) or target is None:
            self._bytes(404 if target is not None else 502, b"", "text/plain")
            return
        existed = os.path.exists(target)
        os.replace(local, target)
        self._bytes(204 if existed else 201, b"", "text/plain")

    def _webdav_target(self, path):
        path = urllib.parse.unquote(path)
        for root, folder in WEBDAV_ROOTS.items():
            if path.startswith(root + "/"):
                local = os.path.normpath(folder + path[len(root) :])
                return local if local.startswith(folder + "/") else None
        return None

    def _webdav_user(self):
        if not self.path.startswith(("/originals", "/import")):
            self._json(404, {"error": "not found"})
            return False
        scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
        user, _, password = base64.b64decode(encoded or b"").decode(errors="replace").partition(":")
        if scheme != "Basic" or not logs_in(user, password):
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="WebDAV Authorization Required"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return False
        return True

    def _websocket(self):
        key = self.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        sock = self.connection
        next_ping = time.monotonic() + PING_EVERY
        buffer = b""
        while True:
            timeout = max(0.0, next_ping - time.monotonic())
            readable, _, _ = select.select([sock], [], [], timeout)
            if not readable:
                sock.sendall(_frame(0x9, b"stand-in"))
                next_ping = time.monotonic() + PING_EVERY
                continue
            data = sock.recv(65536)
            if not data:
                return
            buffer += data
            while True:
                parsed = _parse(buffer)
                if parsed is None:
                    break
                opcode, payload, buffer = parsed
                if opcode == 0x8:
                    sock.sendall(_frame(0x8, payload[:2]))
                    self.close_connection = True
                    return
                if opcode == 0x9:
                    sock.sendall(_frame(0xA, payload))
                elif opcode in (0x1, 0x2):
                    sock.sendall(_frame(opcode, payload))


def _frame(opcode, payload):
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


def _parse(buffer):
    if len(buffer) < 2:
        return None
    opcode, masked, n = buffer[0] & 0x0F, buffer[1] & 0x80, buffer[1] & 0x7F
    offset = 2
    if n == 126:
        if len(buffer) < 4:
            return None
        n, offset = struct.unpack("!H", buffer[2:4])[0], 4
    elif n == 127:
        if len(buffer) < 10:
            return None
        n, offset = struct.unpack("!Q", buffer[2:10])[0], 10
    mask = b""
    if masked:
        mask, offset = buffer[offset : offset + 4], offset + 4
    if len(buffer) < offset + n:
        return None
    payload = buffer[offset : offset + n]
    if masked:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return opcode, payload, buffer[offset + n :]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    address_family = socket.AF_INET


def _password_hash(password, salt):
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 10000).hex()


def _stored_password(cursor, username):
    cursor.execute(
        "CREATE TABLE IF NOT EXISTS standin_passwords (username VARCHAR(64) PRIMARY KEY, "
        "salt VARCHAR(64) NOT NULL, hash VARCHAR(128) NOT NULL)"
    )
    marker = "%s" if _mysql() else "?"
    cursor.execute(f"SELECT salt, hash FROM standin_passwords WHERE username = {marker}", (username,))
    return cursor.fetchone()


def logs_in(username, password):
    """Like PhotoPrism: a stored password wins; without one, the admin's initial password counts."""
    conn = connect_database()
    try:
        row = _stored_password(conn.cursor(), username)
    finally:
        conn.close()
    if row is not None:
        return _password_hash(password, bytes.fromhex(row[0])) == row[1]
    admin = os.environ.get("PHOTOPRISM_ADMIN_USER", "admin")
    return username == admin and bool(password) and password == setting("ADMIN_PASSWORD")


def passwd(username):
    print("New Password: ", end="", flush=True)
    new = sys.stdin.readline().rstrip("\n")
    print("Retype Password: ", end="", flush=True)
    again = sys.stdin.readline().rstrip("\n")
    if len(new) < 8:
        print("new password is too short, please try again", file=sys.stderr)
        return 1
    if new != again:
        print("passwords did not match, please try again", file=sys.stderr)
        return 1
    salt = os.urandom(16)
    conn = connect_database()
    try:
        cursor = conn.cursor()
        _stored_password(cursor, username)
        marker = "%s" if _mysql() else "?"
        cursor.execute(f"DELETE FROM standin_passwords WHERE username = {marker}", (username,))
        cursor.execute(
            f"INSERT INTO standin_passwords (username, salt, hash) VALUES ({marker}, {marker}, {marker})",
            (username, salt.hex(), _password_hash(new, salt)),
        )
        conn.commit()
    finally:
        conn.close()
    print(f"changed password for {username}")
    return 0


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else "start"
    if command == "passwd":
        return passwd(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("PHOTOPRISM_ADMIN_USER", "admin"))
    if command == "status":
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/v1/status", timeout=4) as response:
                ok = json.load(response).get("status") == "operational"
        except Exception as e:
            print(f"not operational: {e}")
            return 1
        print("operational" if ok else "not operational")
        return 0 if ok else 1
    if command == "start":
        # As PID 1 in a container, SIGTERM is ignored unless handled: stop promptly like PhotoPrism.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        print(f"photoprism stand-in listening on :{PORT}", flush=True)
        Server(("0.0.0.0", PORT), Handler).serve_forever()
        return 0
    print(f"unknown command {command}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
