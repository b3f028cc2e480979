"""The small self-contained HTML pages HAProxy answers with itself (maintenance, private): one look."""

from __future__ import annotations

from stackctl.render.header import GENERATED_HEADER

_PAGE = """<!DOCTYPE html>
<!-- {header} -->
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{head}<title>{title}</title>
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
<p>{text}</p>
</main>
</body>
</html>
"""


def html_page(title: str, text: str, head: str = "") -> str:
    """A page with a heading and one paragraph; `title` and `text` are HTML already escaped, `head` is
    more of <head> (one line each, ending in a newline)."""
    return _PAGE.format(header=GENERATED_HEADER, head=head, title=title, text=text)
