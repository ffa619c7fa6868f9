"""What GitHub shows for a piece of Markdown: its own renderer, cmark-gfm (through cmarkgfm,
with the extensions github.com uses: tables, autolinks, strike-through, tag filter), read back
as the tags it made and the text a person sees. The oracle for step summaries, as skopeo is for
digests.

Raw HTML is let through (CMARK_OPT_UNSAFE): GitHub's own sanitizer runs later, but the gate
must not lean on it, so any tag a manifest smuggled in shows up here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

FORMATTING = {"p", "br", "code", "strong", "em", "ul", "li", "pre", "h2", "h3", "h4"}
"""The tags the gate's own Markdown makes; `TABLE` those of its tables."""
TABLE = {"table", "thead", "tbody", "tr", "th", "td"}


@dataclass
class Page:
    tags: list[tuple[str, dict[str, str | None]]] = field(default_factory=list)
    text: str = ""
    cells: list[list[str]] = field(default_factory=list)
    """The text of each table row's cells."""

    def foreign(self, allowed: set[str] = FORMATTING | TABLE) -> list[str]:
        """Tags the gate did not write, and attributes but a table cell's alignment and a
        fenced block's language."""
        return [
            f"<{tag} {attrs}>"
            for tag, attrs in self.tags
            if tag not in allowed or set(attrs) - {"align", "lang"}
        ]


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.page.tags.append((tag, dict(attrs)))
        if tag == "br":
            self.handle_data("\n")
        elif tag == "tr":
            self.page.cells.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.page.cells[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.page.text += data
        if self._cell is not None:
            self._cell.append(data)


def rendered(markdown: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


def read(markdown: str) -> Page:
    """The tags and text GitHub's renderer makes of `markdown`."""
    reader = _Reader()
    reader.feed(rendered(markdown))
    reader.close()
    return reader.page
