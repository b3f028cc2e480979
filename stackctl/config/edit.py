"""Edits of stack.yaml that keep the user's comments and layout: ruamel.yaml in round-trip mode. The
result is checked by the strict parser (pyyaml + the spec rules) before anything is written."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from stackctl.config.spec import read_spec_text, spec_from_data
from stackctl.core.errors import InvalidInput, SpecError
from stackctl.core.yamlload import parse_yaml


def with_value(text: str, keys: tuple[str | int, ...], value: Any, source_name: str = "stack.yaml") -> str:
    """`text` with `keys` (a path of mappings, created when missing, or list indexes) set to `value`, comments kept.
    Works for block and flow style alike. Raises InvalidInput when the result is not a valid stack."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    parse_yaml(text, source_name)  # the strict parser decides what a valid file is; ruamel only edits
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    try:
        document = yaml.load(text)
    except YAMLError as e:
        raise InvalidInput(f"{source_name}: cannot be edited: {str(e)[:120]}", "fix its syntax first") from None
    node = document
    for key in keys[:-1]:
        if isinstance(key, int):
            node = node[key]
            continue
        if not isinstance(node.get(key), (dict, list)):
            node[key] = CommentedMap()
        node = node[key]
    node[keys[-1]] = value
    out = io.StringIO()
    yaml.dump(document, out)
    new_text = out.getvalue()
    try:
        spec_from_data(parse_yaml(new_text, source_name))
    except SpecError as e:
        raise SpecError(f"{source_name}: {e.path}", e.rule, e.hint) from None
    return new_text


def edited_spec_text(path: Path, keys: tuple[str | int, ...], value: Any) -> tuple[str, str]:
    """(current text, text with the edit applied) of the stack.yaml at `path`; nothing is written."""
    text = read_spec_text(path)
    return text, with_value(text, keys, value, path.name)
