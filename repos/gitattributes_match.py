"""Which paths a `.gitattributes` routes to LFS, and which a `.gitignore` ignores, per git's rules.

gitattributes patterns follow gitignore syntax with git's attr.c semantics:
- a pattern without `/` matches the basename at any depth (`*.bin`, `*tfevents*`);
- a pattern with `/` is anchored at the directory of the file (here: the repo root) and
  matched against the whole path; a leading `/` only anchors;
- wildmatch with WM_PATHNAME: `*`, `?` and `[...]` never match `/`; `**/` at the start or after
  `/` matches zero or more directories, a trailing `/**` everything inside, other `**` act as `*`;
- a pattern ending in `/` names directories only, so it never matches a file; negative
  (`!`) patterns are forbidden in gitattributes and git ignores the line;
- the last line that says anything about an attribute wins; `[attr]` lines define macros.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import lru_cache

from dulwich.ignore import IgnoreFilter, read_ignore_patterns

# `git help attributes`: the built-in `binary` macro.
_BUILTIN_MACROS = {"binary": [("diff", False), ("merge", False), ("text", False)]}
_MAX_MACRO_DEPTH = 8
_CLASSES = {
    "alnum": "a-zA-Z0-9",
    "alpha": "a-zA-Z",
    "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": " \\t\\n\\r\\f\\v",
    "upper": "A-Z",
    "xdigit": "0-9A-Fa-f",
}

# An attribute state: True (set), False (unset), None (unspecified, `!attr`), or a value.
State = bool | str | None


def _bracket(pattern: str, i: int) -> tuple[str, int] | None:
    """Translate the `[...]` starting at pattern[i]; None when it is not closed (a literal `[`)."""
    j = i + 1
    negate = j < len(pattern) and pattern[j] in "!^"
    if negate:
        j += 1
    parts: list[str] = []
    first = True
    while j < len(pattern):
        c = pattern[j]
        if c == "]" and not first:
            body = "".join(parts)
            # WM_PATHNAME: a class never matches `/`, negated or not.
            return (f"[^/{body}]" if negate else f"(?!/)[{body}]"), j + 1
        first = False
        if c == "[" and pattern.startswith("[:", j):
            end = pattern.find(":]", j + 2)
            name = pattern[j + 2 : end] if end >= 0 else ""
            if name in _CLASSES:
                parts.append(_CLASSES[name])
                j = end + 2
                continue
        if c == "\\" and j + 1 < len(pattern):
            j += 1
            c = pattern[j]
        if j + 2 < len(pattern) and pattern[j + 1] == "-" and pattern[j + 2] != "]":
            hi = pattern[j + 2]
            if hi == "\\" and j + 3 < len(pattern):
                hi = pattern[j + 3]
                j += 1
            if ord(hi) >= ord(c):
                parts.append(f"{re.escape(c)}-{re.escape(hi)}")
            j += 3
            continue
        parts.append(re.escape(c))
        j += 1
    return None


def wildmatch_regex(pattern: str) -> str:
    """A regex (without anchors) for a git wildmatch pattern under WM_PATHNAME."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            j = i
            while j < n and pattern[j] == "*":
                j += 1
            double = j - i >= 2
            at_start = i == 0 or pattern[i - 1] == "/"
            if double and at_start and j < n and pattern[j] == "/":
                out.append("(?:.*/)?")  # `**/`: zero or more leading directories
                i = j + 1
                continue
            if double and at_start and j == n:
                out.append(".*")  # trailing `/**` (or a lone `**`): everything
                i = j
                continue
            out.append("[^/]*")
            i = j
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            translated = _bracket(pattern, i)
            if translated is None:
                out.append(re.escape(c))
                i += 1
            else:
                out.append(translated[0])
                i = translated[1]
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def _unquote(line: str) -> tuple[str, str] | None:
    """A C-quoted pattern at the start of `line` (attr.c accepts them): (pattern, rest)."""
    out: list[str] = []
    escapes = {
        "n": "\n",
        "t": "\t",
        '"': '"',
        "\\": "\\",
        "a": "\a",
        "b": "\b",
        "f": "\f",
        "r": "\r",
        "v": "\v",
    }
    i = 1
    while i < len(line):
        c = line[i]
        if c == '"':
            return "".join(out), line[i + 1 :]
        if c == "\\" and i + 1 < len(line):
            i += 1
            c = escapes.get(line[i], line[i])
        out.append(c)
        i += 1
    return None


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    basename: bool
    attrs: tuple[tuple[str, State], ...]


def _parse_attrs(tokens: list[str]) -> list[tuple[str, State]]:
    attrs: list[tuple[str, State]] = []
    for token in tokens:
        if token.startswith("-"):
            attrs.append((token[1:], False))
        elif token.startswith("!"):
            attrs.append((token[1:], None))
        elif "=" in token:
            name, _, value = token.partition("=")
            attrs.append((name, value))
        else:
            attrs.append((token, True))
    return [(name, state) for name, state in attrs if name]


class GitAttributes:
    """The rules of one root `.gitattributes`; `state(path, attr)` answers like `git check-attr`."""

    def __init__(self, content: bytes | str):
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        self._macros: dict[str, list[tuple[str, State]]] = dict(_BUILTIN_MACROS)
        self._rules: list[_Rule] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith('"'):
                quoted = _unquote(line)
                if quoted is None:
                    continue
                pattern, rest = quoted
            else:
                pattern, rest = [*re.split(r"\s+", line, maxsplit=1), ""][:2]
            tokens = rest.split()
            if pattern.startswith("[attr]"):
                self._macros[pattern[len("[attr]") :]] = _parse_attrs(tokens)
                continue
            if pattern.startswith("!") or pattern.endswith("/"):
                continue  # forbidden negative pattern / directory-only pattern: no file matches
            anchored = "/" in pattern
            pattern = pattern.lstrip("/") if anchored else pattern
            if not pattern:
                continue
            self._rules.append(
                _Rule(
                    regex=re.compile(wildmatch_regex(pattern) + r"\Z", re.DOTALL),
                    basename=not anchored,
                    attrs=tuple(_parse_attrs(tokens)),
                )
            )

    def _expand(
        self, attrs: tuple[tuple[str, State], ...], depth: int = 0
    ) -> list[tuple[str, State]]:
        out: list[tuple[str, State]] = []
        for name, state in attrs:
            out.append((name, state))
            if state is True and name in self._macros and depth < _MAX_MACRO_DEPTH:
                out.extend(self._expand(tuple(self._macros[name]), depth + 1))
        return out

    def state(self, path: str, attr: str) -> State:
        """The value of `attr` for the file at `path` (no leading slash); None if unspecified."""
        basename = path.rsplit("/", 1)[-1]
        for rule in reversed(self._rules):
            subject = basename if rule.basename else path
            if not rule.regex.match(subject):
                continue
            # Within one line a later mention wins; a macro's values come after its name.
            found = [s for name, s in self._expand(rule.attrs) if name == attr]
            if found:
                return found[-1]
        return None

    def is_lfs(self, path: str) -> bool:
        return self.state(path, "filter") == "lfs"


@lru_cache(maxsize=256)
def gitattributes(content: bytes) -> GitAttributes:
    """Parsed rules for a `.gitattributes` blob (cached: blobs are immutable)."""
    return GitAttributes(content)


class GitIgnore:
    """`.gitignore` rules (dulwich's git-compatible matcher); `ignores(path)` for a file path."""

    def __init__(self, content: bytes | str):
        data = content.encode() if isinstance(content, str) else content
        self._filter = IgnoreFilter(read_ignore_patterns(io.BytesIO(data)))

    def ignores(self, path: str) -> bool:
        return self._filter.is_ignored(path) is True
