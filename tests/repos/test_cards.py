"""Card front matter: parsed safely, hostile YAML rejected (SECURITY.md items 4 and 38)."""

from __future__ import annotations

import json

import pytest

from repos.cards import (
    MAX_DEPTH,
    MAX_FRONT_MATTER_BYTES,
    parse_front_matter,
    validate_card,
)

ALIAS_BOMB = """---
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
---
body
"""


def test_metadata_and_body_are_split() -> None:
    data, body, errors = parse_front_matter("---\nlicense: mit\ntags:\n- a\n---\n# Title\n")
    assert data == {"license": "mit", "tags": ["a"]}
    assert body == "# Title\n"
    assert errors == []


def test_card_without_front_matter_is_all_body() -> None:
    assert parse_front_matter("# Title\n---\nx: 1\n") == ({}, "# Title\n---\nx: 1\n", [])


def test_unclosed_front_matter_is_treated_as_body() -> None:
    data, body, errors = parse_front_matter("---\nlicense: mit\n")
    assert (data, errors) == ({}, [])
    assert body == "---\nlicense: mit\n"


def test_bom_and_dots_terminator_are_accepted() -> None:
    data, body, _ = parse_front_matter("\ufeff---\nlicense: mit\n...\nrest")
    assert data == {"license": "mit"}
    assert body == "rest"


def test_alias_bomb_is_rejected_before_expansion() -> None:
    data, body, errors = parse_front_matter(ALIAS_BOMB)
    assert data == {}
    assert body == "body\n"
    assert errors == ["YAML anchors and aliases are not allowed in card metadata."]


def test_single_anchor_is_rejected() -> None:
    _, _, errors = parse_front_matter("---\nbase: &x 1\nother: 2\n---\n")
    assert errors
    assert "anchors" in errors[0]


def test_python_object_tag_is_refused() -> None:
    data, _, errors = parse_front_matter("---\nx: !!python/object/apply:os.system [id]\n---\n")
    assert data == {}
    assert errors
    assert errors[0].startswith("Invalid YAML in card metadata")


def test_duplicate_keys_are_rejected() -> None:
    data, _, errors = parse_front_matter("---\nlicense: mit\nlicense: apache-2.0\n---\n")
    assert data == {}
    assert errors == ["Duplicate key 'license' in card metadata."]


def test_deep_nesting_is_rejected() -> None:
    depth = MAX_DEPTH + 5
    data, _, errors = parse_front_matter("---\nx: " + "[" * depth + "]" * depth + "\n---\n")
    assert data == {}
    assert errors == [f"Card metadata is nested deeper than {MAX_DEPTH} levels."]


def test_oversized_front_matter_is_rejected() -> None:
    big = "---\n" + "".join(f"k{i}: {'v' * 100}\n" for i in range(MAX_FRONT_MATTER_BYTES // 100))
    data, _, errors = parse_front_matter(big + "---\n")
    assert data == {}
    assert errors
    assert "larger than" in errors[0]


def test_top_level_list_is_an_error() -> None:
    data, _, errors = parse_front_matter("---\n- a\n- b\n---\n")
    assert data == {}
    assert errors == ["Card metadata must be a YAML mapping (key: value), not a list."]


def test_values_become_json_serializable() -> None:
    data, _, errors = parse_front_matter(
        "---\ndate: 2024-01-02\nwhen: 2024-01-02 03:04:05\n1: one\nnan: .nan\n---\n"
    )
    assert errors == []
    assert data == {"date": "2024-01-02", "when": "2024-01-02T03:04:05", "1": "one", "nan": None}
    json.dumps(data)


def test_invalid_yaml_reports_an_error() -> None:
    data, _, errors = parse_front_matter("---\nkey: [unclosed\n---\n")
    assert data == {}
    assert errors
    assert errors[0].startswith("Invalid YAML")


@pytest.mark.parametrize(
    ("text", "errors", "warnings"),
    [
        ("---\nlicense: mit\n---\n", [], []),
        ("# no metadata\n", [], ["Empty or missing yaml metadata in repo card"]),
        ("---\n---\n# empty\n", [], ["Empty or missing yaml metadata in repo card"]),
        ("---\nmodel-index: foo\n---\n", ['"model-index" must be an array'], []),
        (
            "---\nmodel-index:\n- results: []\n---\n",
            ['"model-index[0].name" is required and must be a string'],
            [],
        ),
        ("---\nmodel-index:\n- name: m\n  results: []\n---\n", [], []),
        ("---\ntags: {a: 1}\n---\n", ['"tags" must be a string or an array of strings'], []),
        ("---\npipeline_tag: [a]\n---\n", ['"pipeline_tag" must be a string'], []),
        ("---\n- a\n---\n", ["Card metadata must be a YAML mapping (key: value), not a list."], []),
    ],
)
def test_validate_card(text: str, errors: list[str], warnings: list[str]) -> None:
    assert validate_card(text, repo_type="model") == (errors, warnings)


def test_dataset_configs_must_name_each_config() -> None:
    bad = "---\nconfigs:\n- data_files: x.csv\n---\n"
    good = "---\nconfigs:\n- config_name: default\n  data_files: x.csv\n---\n"
    assert validate_card(bad, repo_type="dataset")[0]
    assert validate_card(good, repo_type="dataset") == ([], [])
    assert validate_card(bad, repo_type="model") == ([], [])
