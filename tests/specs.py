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
}


def example(name: str) -> StackSpec:
    return spec_from_data(EXAMPLES[name])
