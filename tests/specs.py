"""Named example specs shared by the golden, haproxy -c and compose tests."""

from __future__ import annotations

from stackctl.config.spec import StackSpec, spec_from_data

EXAMPLES: dict[str, dict[str, object]] = {
    "minimal": {"domain": "photos.example.com"},
    "import-aliases": {
        "domain": "photos.example.com",
        "aliases": ["photo.example.com", "pics.example.org"],
        "tls": {"source": "import"},
    },
    "sqlite": {"domain": "photos.example.com", "database": {"kind": "sqlite"}},
    "custom-ports": {
        "name": "family",
        "domain": "photos.home.arpa",
        "ports": {"http": 8080, "https": 8443, "bind": "127.0.0.1", "stats": 9404},
        "network": {"subnet": "10.77.0.0/24"},
        "photoprism": {"import": "/srv/import", "env": {"PHOTOPRISM_READONLY": True}},
    },
    # Published on every IPv4 and every IPv6 address of the host.
    "dual-stack": {"domain": "photos.example.com", "ports": {"bind": ["0.0.0.0", "::"]}},
    # The sites form: two PhotoPrism instances (one with its own tls and folders) and one upstream.
    "three-sites": {
        "name": "family",
        "network": {"subnet": "10.77.1.0/24"},
        "sites": [
            {"domain": "alice.example.com", "aliases": ["a.example.com"], "photoprism": {"admin_user": "alice"}},
            {
                "domain": "bob.example.com",
                "tls": {"key_type": "rsa-2048"},
                "photoprism": {"originals": "/srv/photos/bob", "env": {"PHOTOPRISM_READONLY": True}},
            },
            {
                "domain": "media.example.com",
                "upstream": {
                    "image": "jellyfin/jellyfin:10",
                    "port": 8096,
                    "health": "/health",
                    "volumes": ["./media:/media:ro"],
                    "timeouts": {"server": 30},
                },
            },
        ],
    },
    # The edge guard: one PhotoPrism site publishing only its share links, one private app, one with
    # its login throttle tuned, and the stack's limits by path.
    "guarded": {
        "name": "family",
        "network": {"subnet": "10.77.3.0/24"},
        "limits": {"request": "5s", "body_max": "2MiB", "upload": "2h"},
        "sites": [
            {
                "domain": "photos.example.com",
                "photoprism": {},
                "exposure": "shares",
                "allow": ["192.168.1.0/24", "2001:db8:1::/48"],
            },
            {
                "domain": "nas.example.com",
                "upstream": {"url": "http://192.168.1.10:5000"},
                "exposure": "private",
                "allow": ["192.168.1.0/24"],
            },
            {
                "domain": "bob.example.com",
                "photoprism": {},
                "guard": {"login": {"failures": 5, "window": "1h", "ban": "30m", "max_ban": "7d"}},
            },
        ],
    },
    # A single-site stack that gained a site: the first keeps its names, the second is on the host.
    "single-plus-host-app": {
        "domain": "photos.example.com",
        "network": {"subnet": "10.77.2.0/24"},
        "sites": [
            {"domain": "nas.example.com", "upstream": {"url": "http://host.docker.internal:5000"}},
            {"domain": "media.example.com", "upstream": {"url": "http://jellyfin:8096", "network": "media"}},
        ],
    },
}


def example(name: str) -> StackSpec:
    return spec_from_data(EXAMPLES[name])
