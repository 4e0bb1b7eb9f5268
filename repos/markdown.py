"""Model and dataset cards: Markdown to HTML that is always sanitized.

markdown-it-py renders raw HTML as it is (SECURITY.md 3), and cards need some of it
(`<img>`, `<div align="center">`), so every render goes through nh3 with an allowlist:
no script or style elements, no event handler attributes, and only http(s)/mailto URLs
(which also removes `javascript:` and `data:` however they are spelled or entity-encoded).
"""

from __future__ import annotations

import re
from copy import deepcopy
from urllib.parse import quote

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])

_TAGS = set(nh3.ALLOWED_TAGS)
_ATTRIBUTES = deepcopy(nh3.ALLOWED_ATTRIBUTES)
for _tag in ("div", "p", "h1", "h2", "h3", "h4", "h5", "h6"):
    _ATTRIBUTES.setdefault(_tag, set()).add("align")
_ATTRIBUTES["code"] = {"class"}  # fenced blocks: `language-python`
_URL_SCHEMES = {"http", "https", "mailto"}

# Front matter: `---` on the first line up to the next line that is `---` or `...`.
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?:.*?\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def strip_front_matter(text: str) -> str:
    """The card body without its YAML metadata block (left whole when the block is unclosed)."""
    return _FRONT_MATTER.sub("", text, count=1)


def render_markdown(text: str, *, link_base: str = "", image_base: str = "") -> str:
    """Sanitized HTML for `text`. Relative links resolve under `link_base`, images under
    `image_base` (both end with `/`), so `![](img.png)` in a card finds the repo's file."""

    def rebase(tag: str, attribute: str, value: str) -> str | None:
        base = image_base if (tag, attribute) == ("img", "src") else link_base
        if attribute not in ("href", "src") or not base or not _is_relative_path(value):
            return value
        return base + quote(value.removeprefix("./"), safe="/#?&=%")

    return nh3.clean(
        _md.render(text),
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        attribute_filter=rebase,
        link_rel="noopener noreferrer nofollow",
    )


def render_card(text: str, *, link_base: str = "", image_base: str = "") -> str:
    """A README as shown on the repo page: front matter removed, then `render_markdown`."""
    return render_markdown(strip_front_matter(text), link_base=link_base, image_base=image_base)


def _is_relative_path(value: str) -> bool:
    value = value.strip()
    return bool(value) and not (value.startswith(("/", "#", "?")) or _HAS_SCHEME.match(value))
