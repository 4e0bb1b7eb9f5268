"""Model and dataset cards: safe parsing of the README's YAML front matter, and its checks.

`yaml.safe_load` alone is not enough (SECURITY.md items 4 and 38): it refuses
`!!python/...` tags, but aliases turn a 400-byte document into gigabytes once the hub
serializes `cardData` to JSON, and duplicate keys silently drop data. The loader below
refuses anchors and aliases, duplicate keys, deep nesting and oversized documents; the
caller gets a list of errors and an empty dict, never an exception.
"""

from __future__ import annotations

import datetime
import math
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node

MAX_FRONT_MATTER_BYTES = 512 * 1024
MAX_DEPTH = 32
MAX_NODES = 50_000

_OPEN = "---"
_CLOSE = ("---", "...")


class _CardError(Exception):
    pass


class _CardLoader(yaml.SafeLoader):
    """SafeLoader without anchors or aliases, with depth and size limits, strict keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _CardError("YAML anchors and aliases are not allowed in card metadata.")
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _CardError(f"Card metadata has more than {MAX_NODES} values.")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _CardError(f"Card metadata is nested deeper than {MAX_DEPTH} levels.")
            return super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: let SafeLoader raise its own error
                break
            if duplicate:
                raise _CardError(f"Duplicate key {key!r} in card metadata.")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _jsonable(value: Any) -> Any:
    """What json.dumps can write and clients can read: dates as ISO text, keys as text."""
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        return None
    return value


def split_front_matter(text: str) -> tuple[str | None, str]:
    """(YAML text or None when there is no block, body). The block opens on line one."""
    text = text.removeprefix("\ufeff")
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != _OPEN:
        return None, text
    for i in range(1, len(lines)):
        if lines[i].rstrip() in _CLOSE:
            return "".join(lines[1:i]), "".join(lines[i + 1 :])
    return None, text  # never closed: the whole file is Markdown, as the Hub renders it


def parse_front_matter(text: str) -> tuple[dict[str, Any], str, list[str]]:
    """(metadata, body, errors) of a card; metadata is {} when absent or rejected.

    Never raises on hostile input: aliases, unsafe tags, duplicate keys, deep nesting,
    oversized blocks and non-mapping documents come back as errors.
    """
    block, body = split_front_matter(text)
    if block is None:
        return {}, body, []
    if len(block.encode("utf-8", "surrogatepass")) > MAX_FRONT_MATTER_BYTES:
        return {}, body, [f"Card metadata is larger than {MAX_FRONT_MATTER_BYTES // 1024} KiB."]
    loader = _CardLoader(block)
    try:
        data = loader.get_single_data()
    except _CardError as exc:
        return {}, body, [str(exc)]
    except yaml.YAMLError as exc:
        return {}, body, [f"Invalid YAML in card metadata: {_one_line(exc)}"]
    except RecursionError:
        return {}, body, [f"Card metadata is nested deeper than {MAX_DEPTH} levels."]
    finally:
        loader.dispose()
    if data is None:
        return {}, body, []
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
        return {}, body, [f"Card metadata must be a YAML mapping (key: value), not {kind}."]
    return _jsonable(data), body, []


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:500]


# Fields the Hub types strictly: a string, or a list of strings.
_STR_OR_LIST = ("license", "language", "tags", "datasets", "base_model", "metrics")
_STR_ONLY = ("pipeline_tag", "library_name", "thumbnail", "license_name", "license_link")


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def check_card_metadata(data: dict[str, Any], *, repo_type: str) -> list[str]:
    """Type errors in known metadata fields, as the Hub reports them before a README upload."""
    errors: list[str] = []
    for key in _STR_OR_LIST:
        value = data.get(key)
        if value is not None and not isinstance(value, str) and not _is_str_list(value):
            errors.append(f'"{key}" must be a string or an array of strings')
    for key in _STR_ONLY:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            errors.append(f'"{key}" must be a string')
    if "model-index" in data:
        errors.extend(_check_model_index(data["model-index"]))
    if repo_type == "dataset" and "configs" in data:
        configs = data["configs"]
        if not isinstance(configs, list) or not all(
            isinstance(c, dict) and isinstance(c.get("config_name"), str) for c in configs
        ):
            errors.append('"configs" must be an array of objects with a "config_name" string')
    return errors


def _check_model_index(value: Any) -> list[str]:
    if not isinstance(value, list):
        return ['"model-index" must be an array']
    errors: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            errors.append(f'"model-index[{i}]" must be an object')
            continue
        if not isinstance(item.get("name"), str):
            errors.append(f'"model-index[{i}].name" is required and must be a string')
        results = item.get("results")
        if results is not None and not isinstance(results, list):
            errors.append(f'"model-index[{i}].results" must be an array')
    return errors


def validate_card(text: str, *, repo_type: str) -> tuple[list[str], list[str]]:
    """(errors, warnings) for a README about to be committed (POST /api/validate-yaml)."""
    data, _body, errors = parse_front_matter(text)
    if errors:
        return errors, []
    block, _ = split_front_matter(text)
    if block is None or not data:
        return [], ["Empty or missing yaml metadata in repo card"]
    return check_card_metadata(data, repo_type=repo_type), []
