"""gitattributes matching (LFS routing in preupload) and gitignore, checked against real git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from repos.gitattributes import default_gitattributes
from repos.gitattributes_match import GitAttributes, GitIgnore, wildmatch_regex
from tests.conftest import require_tool

RULES = """\
# comment
*.bin filter=lfs diff=lfs merge=lfs -text
saved_model/**/* filter=lfs diff=lfs merge=lfs -text
*tfevents* filter=lfs
/rooted.dat filter=lfs
docs/*.pdf filter=lfs
**/deep/*.npy filter=lfs
logs/** filter=lfs
a/**/z.txt filter=lfs
img[0-9].raw filter=lfs
data[!x].csv filter=lfs
sp?ce.txt filter=lfs
dir-only/ filter=lfs
!negated.bin filter=lfs
keep.bin -filter
reset.bin !filter
"quoted name.txt" filter=lfs
[attr]big filter=lfs -text
*.weights big
*.bin.txt binary
"""

PATHS = [
    "model.bin",
    "a/b/model.bin",
    "model.bin.txt",
    "model.binx",
    "saved_model/x",
    "saved_model/a/b",
    "x/saved_model/a",
    "runs/events.out.tfevents.123",
    "rooted.dat",
    "sub/rooted.dat",
    "docs/a.pdf",
    "docs/sub/a.pdf",
    "x/docs/a.pdf",
    "deep/a.npy",
    "x/deep/a.npy",
    "x/y/deep/a.npy",
    "deep/x/a.npy",
    "logs/a",
    "logs/a/b/c",
    "logs",
    "a/z.txt",
    "a/b/z.txt",
    "a/b/c/z.txt",
    "b/a/z.txt",
    "img3.raw",
    "imgx.raw",
    "x/img7.raw",
    "datay.csv",
    "datax.csv",
    "space.txt",
    "sp/ce.txt",
    "dir-only/x",
    "dir-only",
    "negated.bin",
    "keep.bin",
    "reset.bin",
    "quoted name.txt",
    "m.weights",
    "x/m.weights",
    "readme.md",
    "weird[.bin",
    "a\\b.bin",
]


def test_basename_and_anchored_patterns() -> None:
    attrs = GitAttributes(RULES)
    assert attrs.is_lfs("a/b/model.bin")
    assert attrs.is_lfs("saved_model/a/b")
    assert not attrs.is_lfs("x/saved_model/a")  # a pattern with a slash is anchored
    assert attrs.is_lfs("rooted.dat")
    assert not attrs.is_lfs("sub/rooted.dat")
    assert not attrs.is_lfs("docs/sub/a.pdf")  # `*` does not cross `/`
    assert attrs.is_lfs("a/b/c/z.txt")  # `/**/` spans directories
    assert attrs.is_lfs("a/z.txt")  # ... including none
    assert not attrs.is_lfs("dir-only/x")  # directory patterns never match files
    assert not attrs.is_lfs("keep.bin")  # a later `-filter` wins
    assert attrs.is_lfs("x/m.weights")  # through the `big` macro
    assert not attrs.is_lfs("readme.md")


def test_wildmatch_star_never_crosses_slash() -> None:
    import re

    assert re.fullmatch(wildmatch_regex("a/*.txt"), "a/b.txt")
    assert not re.fullmatch(wildmatch_regex("a/*.txt"), "a/b/c.txt")
    assert not re.fullmatch(wildmatch_regex("a?b"), "a/b")
    assert not re.fullmatch(wildmatch_regex("a[/]b"), "a/b")


def _git_check_attr(tmp_path: Path, rules: str, paths: list[str]) -> dict[str, bool]:
    git = require_tool("git")
    subprocess.run([git, "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitattributes").write_text(rules)
    proc = subprocess.run(
        [git, "check-attr", "-z", "--stdin", "filter"],
        cwd=tmp_path,
        input="\0".join(paths) + "\0",
        capture_output=True,
        text=True,
        check=True,
        env={"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    fields = proc.stdout.split("\0")
    return {fields[i]: fields[i + 2] == "lfs" for i in range(0, len(fields) - 2, 3)}


@pytest.mark.git
def test_agrees_with_git_check_attr(tmp_path: Path) -> None:
    expected = _git_check_attr(tmp_path, RULES, PATHS)
    attrs = GitAttributes(RULES)
    assert {p: attrs.is_lfs(p) for p in PATHS} == expected


@pytest.mark.git
@pytest.mark.parametrize("kind", ["model", "dataset"])
def test_default_gitattributes_agree_with_git(tmp_path: Path, kind: str) -> None:
    paths = [
        "w.bin",
        "a/b/model.safetensors",
        "x.txt",
        "README.md",
        "saved_model/v/x.pb",
        "saved_model/x",
        "img.png",
        "a/song.mp3",
        "data.jsonl",
        "t.tar.gz",
        "f.lfs.x",
        "events.out.tfevents.1",
        "empty",
        "config.json",
    ]
    content = default_gitattributes(kind).decode()
    expected = _git_check_attr(tmp_path, content, paths)
    attrs = GitAttributes(content)
    assert {p: attrs.is_lfs(p) for p in paths} == expected


def test_gitignore_matches_files_below_ignored_folders() -> None:
    ignore = GitIgnore("nested/*\n*.log\n!keep.log\nbuild/\n")
    assert ignore.ignores("nested/file.bin")
    assert ignore.ignores("a/b.log")
    assert not ignore.ignores("keep.log")
    assert ignore.ignores("build/x/y.o")
    assert not ignore.ignores("src/main.py")
