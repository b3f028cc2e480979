"""YAML reading that refuses what PyYAML silently accepts (duplicate keys) or cannot survive (nesting
deep enough to exhaust the stack, alias bombs, keys that are lists). Every failure is one line."""

from __future__ import annotations

from typing import Any

import yaml

from stackctl.core.errors import InvalidInput

MAX_DEPTH = 32
MAX_NODES = 100_000
_FIX = "fix the syntax (see the README's stack.yaml table)"


class _StrictLoader(yaml.SafeLoader):
    pass


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        mark = key_node.start_mark
        if not isinstance(key_node, yaml.ScalarNode):
            where = f"{loader.name}: a key at line {mark.line + 1}"
            raise InvalidInput(f"{where} is a list or mapping", "keys must be plain names")
        key = loader.construct_object(key_node)
        if key in seen:
            raise InvalidInput(
                f"{loader.name}: duplicate key {str(key)[:80]!r} at line {mark.line + 1}",
                "keep one of them",
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def _check_shape(text: str, source_name: str) -> None:
    """Walk the event stream (PyYAML's parser is not recursive) before building anything: refuse
    nesting deeper than MAX_DEPTH and documents of more than MAX_NODES nodes or alias uses."""
    depth = nodes = 0
    for event in yaml.parse(text, Loader=_StrictLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else 0
                raise InvalidInput(
                    f"{source_name}: nested more than {MAX_DEPTH} levels deep (line {line})",
                    "flatten it: stack.yaml needs at most 4 levels",
                )
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        if isinstance(event, (yaml.NodeEvent, yaml.AliasEvent)):
            nodes += 1
            if nodes > MAX_NODES:
                raise InvalidInput(f"{source_name}: more than {MAX_NODES} values", "stack.yaml needs far fewer")


def _syntax_error(source_name: str, error: yaml.YAMLError) -> InvalidInput:
    if isinstance(error, yaml.reader.ReaderError):
        return InvalidInput(
            f"{source_name}: holds a character YAML does not allow ({error.reason}, at byte {error.position})",
            "remove control characters such as NUL; save it as UTF-8 text",
        )
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return InvalidInput(f"{source_name}: invalid YAML{where}: {error.problem}", _FIX)
    return InvalidInput(f"{source_name}: invalid YAML: {str(error)[:120]}", _FIX)


def parse_yaml(text: str, source_name: str) -> Any:
    """Parse YAML text; every parser failure becomes one InvalidInput line naming the file."""
    loader = None
    try:
        _check_shape(text, source_name)
        loader = _StrictLoader(text)
        loader.name = source_name
        return loader.get_single_data()
    except yaml.YAMLError as e:
        raise _syntax_error(source_name, e) from None
    except (RecursionError, MemoryError):
        raise InvalidInput(f"{source_name}: too large or too deeply nested to read", _FIX) from None
    except (TypeError, ValueError) as e:  # e.g. a timestamp or number PyYAML cannot build
        raise InvalidInput(f"{source_name}: a value cannot be read: {str(e)[:120]}", _FIX) from None
    finally:
        if loader is not None:
            loader.dispose()
