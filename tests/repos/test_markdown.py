"""Cards are rendered from Markdown with raw HTML allowed, then sanitized (SECURITY.md 37)."""

from __future__ import annotations

import re

import pytest

from repos.markdown import render_card, render_markdown, strip_front_matter

# Every attribute value that could carry a URL, after rendering.
_URL_ATTR = re.compile(
    r"""\b(?:href|src|action|formaction|xlink:href)\s*=\s*["']?([^"'\s>]*)""", re.I
)


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "<svg onload=alert(1)><circle r=1 /></svg>",
        '<iframe src="https://evil.example/"></iframe>',
        "<style>body { display: none }</style>",
        "[x](javascript:alert(1))",
        '<a href="java&#09;script:alert(1)">x</a>',
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
        "[x](data:text/html,<script>alert(1)</script>)",
        '<div onclick="alert(1)" onmouseover="alert(1)">x</div>',
        '<object data="x.swf"></object><embed src="x.swf">',
        '<form action="https://evil.example/"><input name=p></form>',
        '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
        '<img src="javascript:alert(1)">',
        '<a href="vbscript:msgbox(1)">x</a>',
        '<base href="https://evil.example/">',
        '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    ],
)
def test_hostile_html_does_not_survive(hostile: str) -> None:
    html = render_markdown(f"# Title\n\n{hostile}\n\ntext after\n")
    lowered = html.lower()
    for tag in (
        "<script",
        "<svg",
        "<iframe",
        "<style",
        "<object",
        "<embed",
        "<form",
        "<input",
        "<math",
        "<base",
        "<meta",
    ):
        assert tag not in lowered
    assert not re.search(r"\son[a-z]+\s*=", lowered)
    for url in _URL_ATTR.findall(html):
        assert not re.match(r"\s*(javascript|vbscript|data):", url, re.I), url
    assert "text after" in html


def test_card_html_people_use_is_kept() -> None:
    html = render_markdown(
        '<div align="center"><img src="https://example.com/logo.png" width="200" alt="logo">'
        "</div>\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n**bold** ~~gone~~ `code`\n"
    )
    assert '<div align="center">' in html
    assert '<img src="https://example.com/logo.png" width="200" alt="logo">' in html
    assert "<table>" in html
    assert "<td>1</td>" in html
    assert "<strong>bold</strong>" in html
    assert "<s>gone</s>" in html


def test_links_are_marked_nofollow() -> None:
    assert 'rel="noopener noreferrer nofollow"' in render_markdown("[x](https://example.com)")


def test_relative_links_and_images_point_into_the_repo() -> None:
    html = render_markdown(
        "![plot](./img/plot.png) [guide](docs/guide.md) [top](#usage) [abs](/other)",
        link_base="/o/m/blob/main/",
        image_base="/o/m/resolve/main/",
    )
    assert 'src="/o/m/resolve/main/img/plot.png"' in html
    assert 'href="/o/m/blob/main/docs/guide.md"' in html
    assert 'href="#usage"' in html
    assert 'href="/other"' in html


def test_front_matter_is_stripped_from_the_card() -> None:
    card = render_card("---\nlicense: mit\ntags:\n- a\n---\n# Model\n")
    assert "license" not in card
    assert "<h1>Model</h1>" in card


def test_unclosed_front_matter_is_left_alone() -> None:
    text = "---\nnot closed\n# Model\n"
    assert strip_front_matter(text) == text


def test_a_horizontal_rule_later_is_not_front_matter() -> None:
    text = "# Model\n\n---\n\nmore\n"
    assert strip_front_matter(text) == text
