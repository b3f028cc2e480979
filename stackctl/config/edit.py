"""Edits of stack.yaml that keep the user's comments and layout: ruamel.yaml in round-trip mode. The
result is checked by the strict parser (pyyaml + the spec rules) before anything is written."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from stackctl.config.spec import read_spec_text, spec_from_data
from stackctl.core.errors import InvalidInput, SpecError
from stackctl.core.yamlload import parse_yaml


def _round_trip() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # a long path stays on its line (ruamel folds plain scalars at 80 columns)
    yaml.indent(mapping=2, sequence=4, offset=2)  # `init`'s layout: list items indented under their key
    # ruamel writes None as nothing (`key:`); the user wrote `null`, and reads it.
    yaml.representer.add_representer(type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    return yaml


def _load(text: str, source_name: str) -> Any:
    from ruamel.yaml.error import YAMLError

    parse_yaml(text, source_name)  # the strict parser decides what a valid file is; ruamel only edits
    try:
        return _round_trip().load(text)
    except YAMLError as e:
        raise InvalidInput(f"{source_name}: cannot be edited: {str(e)[:120]}", "fix its syntax first") from None


def _dump_checked(document: Any, source_name: str) -> str:
    out = io.StringIO()
    _round_trip().dump(document, out)
    new_text = out.getvalue()
    try:
        spec_from_data(parse_yaml(new_text, source_name))
    except SpecError as e:
        raise SpecError(f"{source_name}: {e.path}", e.rule, e.hint) from None
    return new_text


def with_site_added(text: str, site: dict[str, Any], source_name: str = "stack.yaml") -> str:
    """`text` with `site` appended to its sites: list (created when missing), comments kept."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    document = _load(text, source_name)
    if not isinstance(document.get("sites"), list):
        document["sites"] = CommentedSeq()
    document["sites"].append(CommentedMap(site))
    return _dump_checked(document, source_name)


def with_site_removed(text: str, index: int, source_name: str = "stack.yaml") -> str:
    """`text` without the site at `index` of its sites: list (the list goes when it empties)."""
    document = _load(text, source_name)
    del document["sites"][index]
    if not document["sites"]:
        del document["sites"]
    return _dump_checked(document, source_name)


def with_value(text: str, keys: tuple[str | int, ...], value: Any, source_name: str = "stack.yaml") -> str:
    """`text` with `keys` (a path of mappings, created when missing, or list indexes) set to `value`, comments kept.
    Works for block and flow style alike. Raises InvalidInput when the result is not a valid stack."""
    from ruamel.yaml.comments import CommentedMap

    document = _load(text, source_name)
    node = document
    for key in keys[:-1]:
        if isinstance(key, int):
            node = node[key]
            continue
        if not isinstance(node.get(key), (dict, list)):
            node[key] = CommentedMap()
        node = node[key]
    node[keys[-1]] = value
    return _dump_checked(document, source_name)


def edited_spec_text(path: Path, keys: tuple[str | int, ...], value: Any) -> tuple[str, str]:
    """(current text, text with the edit applied) of the stack.yaml at `path`; nothing is written."""
    text = read_spec_text(path)
    return text, with_value(text, keys, value, path.name)
