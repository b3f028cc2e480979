"""YAML reading that refuses what PyYAML silently accepts: duplicate keys."""

from __future__ import annotations

from typing import Any

import yaml

from stackctl.errors import InvalidInput


class _StrictLoader(yaml.SafeLoader):
    pass


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            mark = key_node.start_mark
            raise InvalidInput(
                f"{loader.name}: duplicate key {key!r} at line {mark.line + 1}",
                "keep one of them",
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def parse_yaml(text: str, source_name: str) -> Any:
    """Parse YAML text; syntax errors become one line naming the file, line and column."""
    loader = _StrictLoader(text)
    loader.name = source_name
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InvalidInput(f"{source_name}: invalid YAML{where}: {e.problem}", "fix the syntax") from e
    except yaml.YAMLError as e:
        raise InvalidInput(f"{source_name}: invalid YAML: {e}") from e
    finally:
        loader.dispose()
