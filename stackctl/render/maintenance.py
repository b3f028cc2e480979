"""The maintenance answers HAProxy gives while PhotoPrism has no server up: a small self-contained
HTML page for browsers, which retries by itself, and a JSON body for API clients."""

from __future__ import annotations

import html
import json

from stackctl.config.spec import StackSpec
from stackctl.render.header import GENERATED_HEADER

RETRY_AFTER_S = 5
MAINTENANCE_HTML = "maintenance.html"
MAINTENANCE_JSON = "maintenance.json"

_PAGE = """<!DOCTYPE html>
<!-- {header} -->
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{retry}">
<title>PhotoPrism is starting</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #1d1d1d; color: #e0e0e0; display: grid;
       place-items: center; min-height: 100vh; margin: 0; text-align: center; }}
h1 {{ font-weight: 400; font-size: 1.6rem; }}
p {{ color: #a0a0a0; }}
</style>
</head>
<body>
<main>
<h1>PhotoPrism is starting</h1>
<p>{domain} will be back in a moment. This page tries again every {retry} seconds.</p>
</main>
</body>
</html>
"""


def maintenance_pages(spec: StackSpec) -> dict[str, str]:
    """File name -> body, for the folder HAProxy reads its configuration from."""
    document = {
        "error": "PhotoPrism is starting",
        "domain": spec.domain,
        "status": 503,
        "retry_after_s": RETRY_AFTER_S,
    }
    return {
        MAINTENANCE_HTML: _PAGE.format(header=GENERATED_HEADER, retry=RETRY_AFTER_S, domain=html.escape(spec.domain)),
        MAINTENANCE_JSON: json.dumps(document, sort_keys=True) + "\n",
    }
