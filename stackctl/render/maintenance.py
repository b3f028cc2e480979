"""The maintenance answers HAProxy gives while a site's app has no server up: a small self-contained
HTML page for browsers, which retries by itself, and a JSON body for API clients. One pair per site, and
the HTML page as a whole 503 response for HAProxy's own 502 (the app dropped a request)."""

from __future__ import annotations

import html
import json

from stackctl.config.sites import Site
from stackctl.render.pages import html_page

RETRY_AFTER_S = 5
MAINTENANCE_HTML = "maintenance.html"
MAINTENANCE_JSON = "maintenance.json"


def page_names(site: Site) -> tuple[str, str]:
    """(HTML page, JSON body) of a site; the single-site form keeps the names it always had."""
    if site.legacy:
        return MAINTENANCE_HTML, MAINTENANCE_JSON
    return f"maintenance-{site.backend}.html", f"maintenance-{site.backend}.json"


def error_response_name(site: Site) -> str:
    """The HTML page as a whole HTTP response, which HAProxy sends in place of its own 502."""
    return "maintenance.http" if site.legacy else f"maintenance-{site.backend}.http"


def _as_503(page: str) -> str:
    """`page` as the raw response an errorfile holds: HAProxy sends its status line as it is. Lines end
    in LF alone, which HAProxy reads as HTTP/1.1 too, so that the file is plain text like the others."""
    headers = [
        "HTTP/1.1 503 Service Unavailable",
        "Content-Type: text/html; charset=utf-8",
        f"Content-Length: {len(page.encode())}",
        f"Retry-After: {RETRY_AFTER_S}",
        "Cache-Control: no-store",
    ]
    return "\n".join(headers) + "\n\n" + page


def maintenance_pages(site: Site) -> dict[str, str]:
    """File name -> body, for the folder HAProxy reads its configuration from."""
    title = "PhotoPrism is starting" if site.photoprism is not None else f"{site.domain} is starting"
    document = {"error": title, "domain": site.domain, "status": 503, "retry_after_s": RETRY_AFTER_S}
    html_name, json_name = page_names(site)
    text = f"{html.escape(site.domain)} will be back in a moment. This page tries again every {RETRY_AFTER_S} seconds."
    page = html_page(title, text, f'<meta http-equiv="refresh" content="{RETRY_AFTER_S}">\n')
    return {
        html_name: page,
        json_name: json.dumps(document, sort_keys=True) + "\n",
        error_response_name(site): _as_503(page),
    }
