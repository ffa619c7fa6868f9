"""What a manifest can make GitHub show in a step summary: only its own text.

Rendered by GitHub's own renderer, cmark-gfm (`tests.support.markdown`). The CommonMark rules
at stake (spec 0.31.2): a backtick run opens a code span only where a run of the same length
closes it, and one space each side of a span's text is stripped (6.1); backslash escapes any
ASCII punctuation (2.4); raw HTML, links and images (6.6, 6.3, 6.4). GFM's extended autolinks
(spec 0.29-gfm, 6.9) link bare `www.`, `http://`, `https://`, `ftp://` and e-mail addresses, in
table cells too; cmark-gfm's `autolink.c` looks back from the `:` of a `://` and from an `@`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gate.display import TEXT_LIMIT, shown
from gate.report.github import _cell, _code, _plain, _prose
from tests.support.cli import pullgate
from tests.support.markdown import read

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=https://evil.example/p.png>",
    "![p](https://evil.example/pixel.png)",
    "[x](http://evil.example)",
    "[x]: http://evil.example",
    "<https://evil.example>",
    "https://evil.example/x",
    "HTTPS://evil.example",
    "ftp://evil.example",
    "www.evil.example",
    "WWW.evil.example/app:latest",
    "(www.evil.example)",
    "alice@evil.example",
    "mailto:alice@evil.example",
    "xmpp:alice@evil.example/r",
    "a@.evil.example",  # cmark-gfm links shapes beyond any address pattern
    "xmpp:@_w.ex",
    "+xmpp:@_evil.example",
    "&lt;b&gt; &amp; &#64;",
    "*bold* _it_ ~~gone~~ ~one~",
    "a|b|c",
    "a\\|b",
    "back\\slash\\",
    "``<img src=x>``",
    "`",
    "```",
    "a`b``c",
    " lead and trail ",
    "<!-- hidden -->",
    "# heading",
    "line\nbreak <b>",
    "café 🐳 \u202e",
    "\x1b[31mred",
]


def _expected(text: str) -> str:
    return "\n".join(shown(line, TEXT_LIMIT) for line in text.split("\n"))


@pytest.mark.parametrize("value", HOSTILE)
def test_prose_text_shows_as_written(value: str) -> None:
    page = read(f"x {_plain(value)} y")
    assert page.foreign() == []
    assert page.text.rstrip("\n") == f"x {_expected(value)} y"


@pytest.mark.parametrize("value", HOSTILE)
def test_a_table_cell_shows_as_written_and_stays_one_cell(value: str) -> None:
    page = read(f"| a | b | c |\n|---|---|---|\n| 1 | {_cell(value)} | 3 |\n")
    assert page.foreign() == []
    assert page.cells[1] == ["1", _expected(value).strip(), "3"]


@pytest.mark.parametrize("value", [*HOSTILE, " ", "   ", ""])
def test_a_code_span_shows_its_text_whatever_backticks_it_holds(value: str) -> None:
    """Spaces too (CommonMark strips one each side of a span's text unless it is all spaces);
    an empty text shows as `""`."""
    shown_as = value.replace("\n", " ") or '""'
    assert read(f"x {_code(value, False)} y").text.rstrip("\n") == f"x {shown_as} y"
    row = read(f"| a | b |\n|---|---|\n| {_code(value)} | 2 |\n")
    assert row.foreign() == [] and row.cells[1] == [shown_as, "2"]


def test_an_empty_code_span_pairs_with_nothing_after_it() -> None:
    """Empty fences are one backtick run, which closed at the next span's opening: what that
    span held was shown as raw HTML."""
    line = f"container {_code('', False)}: {_prose('reads secret ``<img src=x>`` here')}"
    page = read(line)
    assert page.foreign() == [], page.tags
    assert "<img src=x>" in page.text


_PIECES = st.lists(
    st.sampled_from(
        [
            *("`", "``", "<", ">", "img src=x", "[", "]", "(", ")", "!", "http://e.x"),
            *("www.e.x", "a@b.cd", "\\", "|", "*", "_", "~", "&", "#", ":", "/", " "),
            *("\n", "a", "é", "@", "@.", "xmpp:", "<!--", "-->"),
        ]
    ),
    max_size=24,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(code=_PIECES, message=_PIECES, plain=_PIECES)
@example(code="", message="``<``a@b.cd", plain="")  # a span's run and an address's, side by side
def test_no_mix_of_spans_and_manifest_text_makes_markup(
    code: str, message: str, plain: str
) -> None:
    """A finding's line as the summary builds it (its container as code, its message keeping
    its own spans, a suppression reason) makes no tag the gate did not write."""
    line = f"- **error** {_code(code, False)}: {_prose(message)}<br>Fix: {_plain(plain)}"
    assert read(line).foreign() == []
    row = f"| h | h |\n|---|---|\n| {_code(code)} {_cell(plain)} | {_cell(message)} |\n"
    table = read(row)
    assert table.foreign() == [] and len(table.cells[1]) == 2


HOSTILE_SET = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      imagePullSecrets: [{name: "www.evil.example"}]
      containers:
        - name: ""
          image: nginx:1.27
          env:
            - name: X
              valueFrom: {secretKeyRef: {name: "``<img src=https://evil.example/p.png>``", key: k}}
        - name: "![p](https://evil.example/pixel.png)"
          image: www.evil.example/app:latest
"""


def test_a_hostile_manifest_shows_in_the_step_summary_as_written(tmp_path: Path) -> None:
    """End to end: names that are links, images, autolinks and HTML in Markdown reach the
    summary GitHub renders as their own text, in the headings, the tables and the findings."""
    (tmp_path / "set.yaml").write_text(HOSTILE_SET)
    summary = tmp_path / "summary.md"
    result = pullgate(
        "check",
        "--offline",
        str(tmp_path / "set.yaml"),
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.exit_code == 1, result.stdout + result.stderr
    page = read(summary.read_text())
    assert page.foreign() == [], page.foreign()
    text = page.text
    used_by = [row[-1] for row in page.cells if len(row) == 6]  # the Images table
    assert "Deployment shop/web (![p](https://evil.example/pixel.png))" in used_by
    assert (
        "container ![p](https://evil.example/pixel.png): image www.evil.example/app:latest" in text
    )
    assert "imagePullSecrets names secret www.evil.example, which does not exist" in text
    assert "reads an env var from secret <img src=https://evil.example/p.png>" in text
