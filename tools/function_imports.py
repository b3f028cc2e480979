"""Lint: imports inside functions in stackctl/. Each one must defer a heavy optional library, named
below with the reason; any other is a cycle being dodged or a habit, and fails. Prints the count."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

# Module prefix -> why importing it late is worth it.
DEFERRED = {
    "lexicon": "dns-lexicon loads its provider registry on import; only DNS-01 through lexicon needs it",
    "ruamel": "ruamel.yaml loads only when a command edits stack.yaml keeping its comments",
    "rich": "rich loads only when a command draws on a terminal (not for --help, --json or plain lines)",
    "stackctl.certs.acme": "certbot's acme and josepy load only for a site with an ACME certificate",
    "stackctl.health.h3": "aioquic loads only for a stack that serves HTTP/3",
    "stackctl.engines.docker": "the Docker SDK loads only for a command that needs the engine",
    "stackctl.engines.swarm": "the Docker SDK loads only for a command that needs the engine",
}


def function_imports(root: Path) -> list[tuple[Path, int, str]]:
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and inner.module:
                        found.append((path, inner.lineno, inner.module))
                    elif isinstance(inner, ast.Import):
                        found += [(path, inner.lineno, alias.name) for alias in inner.names]
    return found


def _deferral(module: str) -> str | None:
    return next((why for prefix, why in DEFERRED.items() if module == prefix or module.startswith(f"{prefix}.")), None)


def main() -> int:
    found = function_imports(Path("stackctl"))
    wrong = [(path, line, module) for path, line, module in found if _deferral(module) is None]
    for path, line, module in wrong:
        print(f"{path}:{line}: import of {module} inside a function: import it at the top of the module "
              "(a cycle is fixed by moving code, not by a late import)")  # fmt: skip
    print(f"{len(found)} imports inside functions, {len(found) - len(wrong)} deferring a heavy optional library")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
