"""The maintenance answers HAProxy gives while a site's app has no server up: a small self-contained
HTML page for browsers, which retries by itself, and a JSON body for API clients. One pair per site."""

from __future__ import annotations

import html
import json

from stackctl.config.sites import Site
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
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #1d1d1d; color: #e0e0e0; display: grid;
       place-items: center; min-height: 100vh; margin: 0; text-align: center; }}
h1 {{ font-weight: 400; font-size: 1.6rem; }}
p {{ color: #a0a0a0; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
<p>{domain} will be back in a moment. This page tries again every {retry} seconds.</p>
</main>
</body>
</html>
"""


def page_names(site: Site) -> tuple[str, str]:
    """(HTML page, JSON body) of a site; the single-site form keeps the names it always had."""
    if site.legacy:
        return MAINTENANCE_HTML, MAINTENANCE_JSON
    return f"maintenance-{site.backend}.html", f"maintenance-{site.backend}.json"


def maintenance_pages(site: Site) -> dict[str, str]:
    """File name -> body, for the folder HAProxy reads its configuration from."""
    title = "PhotoPrism is starting" if site.photoprism is not None else f"{site.domain} is starting"
    document = {"error": title, "domain": site.domain, "status": 503, "retry_after_s": RETRY_AFTER_S}
    html_name, json_name = page_names(site)
    page = _PAGE.format(header=GENERATED_HEADER, retry=RETRY_AFTER_S, domain=html.escape(site.domain), title=title)
    return {html_name: page, json_name: json.dumps(document, sort_keys=True) + "\n"}
