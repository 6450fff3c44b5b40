"""Checks every HTML report must pass: it parses with balanced tags, and it refers to nothing outside itself."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements that have no end tag in HTML.
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# Attributes through which a page loads or links to something.
REFERENCES = {"src", "href", "xlink:href", "action", "formaction", "data", "poster", "srcset", "background",
              "manifest", "ping"}
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, tuple[int, int]]] = []
        self.problems: list[str] = []
        self.tags: dict[str, int] = {}
        self.attrs: list[tuple[str, str, str]] = []     # (tag, attribute, value)
        self.ids: list[str] = []
        self.text: list[str] = []

    def _count(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for name, value in attrs:
            self.attrs.append((tag, name, value or ""))
            if name == "id":
                self.ids.append(value or "")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._count(tag, attrs)
        if tag not in VOID:
            self.stack.append((tag, self.getpos()))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._count(tag, attrs)      # <line .../>: opened and closed at once

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack:
            self.problems.append(f"</{tag}> at {self.getpos()} closes nothing")
            return
        open_tag, where = self.stack.pop()
        if open_tag != tag:
            self.problems.append(f"</{tag}> at {self.getpos()} closes <{open_tag}> opened at {where}")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> _Checker:
    """The page parsed: asserts that every tag is closed in order; returns what was seen."""
    assert html.startswith("<!DOCTYPE html>")
    checker = _Checker()
    checker.feed(html)
    checker.close()
    assert not checker.problems, checker.problems[:5]
    assert not checker.stack, f"left open: {checker.stack[:5]}"
    assert len(checker.ids) == len(set(checker.ids)), "an id is used twice"
    return checker


def assert_self_contained(html: str) -> _Checker:
    """No script, no external stylesheet, font or image; every link stays in the page."""
    page = parse(html)
    for tag in ("script", "link", "img", "iframe", "object", "embed", "audio", "video", "image", "use", "base"):
        assert tag not in page.tags, f"<{tag}> in the page"
    for tag, name, value in page.attrs:
        if name in REFERENCES:
            assert value.startswith("#"), f"<{tag} {name}={value!r}> refers outside the page"
        if name == "xmlns":
            assert value == SVG_NAMESPACE, value
        assert not name.startswith("on"), f"<{tag} {name}>: an event handler"
        assert not re.search(r"url\s*\(", value, re.I), f"<{tag} {name}={value!r}>"
    styles = "".join(re.findall(r"<style>(.*?)</style>", html, re.S))
    assert "@import" not in styles and not re.search(r"url\s*\(", styles, re.I)
    assert "@font-face" not in styles
    # The Content-Security-Policy forbids loading anything, should a reference ever get in.
    assert "default-src 'none'" in html
    return page
