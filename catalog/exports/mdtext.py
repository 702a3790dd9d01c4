"""User text pasted into the Markdown dossier, made inert.

The dossier's .md is read in renderers we do not control (GitHub, an editor's
preview, python-markdown), most of which pass raw HTML through. So the text
people typed must not become live HTML, a `javascript:` link, or a heading
that forges a section of the dossier ("## Readiness" in a description).

- `md_inline`: one line read literally (titles, names, table cells).
- `md_prose`: a Markdown field (description, detection, mitigation) that keeps
  its lists, emphasis, links and code, with `<` and `&` written as entities
  (so `a < b` inside inline code reads `&lt;`: the price of never passing HTML
  through), headings and setext underlines escaped, dangerous link schemes
  broken, images left as their text (no page of the app shows one, and a
  reader's renderer would fetch it), and fenced code rewritten to a form every renderer agrees on and
  always closed (an unclosed fence would swallow the rest of the dossier).
  Inside a fence nothing is escaped: no renderer reads HTML or links there.
"""

from __future__ import annotations

import re

_INLINE_SPECIAL = re.compile(r"([\\|*_`\[\]])")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_HTML_SPECIAL = re.compile(r"[&<>]")
_PROSE_SPECIAL = re.compile(r"[&<]")  # `>` alone opens no tag; it keeps blockquotes working

# Schemes that run code or smuggle a document. Browsers drop tabs and newlines
# inside a URL, and CommonMark reads `\:` as `:`, so allow those in between.
# `data:` only when a media type follows, so that "Input data: 5 GB" reads as typed.
_GAP = r"[\t\n\r\\]*"
_DANGEROUS = re.compile(
    r"\b(?:(?:"
    + "|".join(_GAP.join(word) for word in ("javascript", "vbscript", "livescript"))
    + rf"){_GAP}:|{_GAP.join('data')}{_GAP}:(?=[A-Za-z]))",
    re.IGNORECASE,
)

# Block markers a heading may follow: blockquote `>`, list bullets, ordered items.
_CONTAINERS = r"(?:[ \t]*(?:>|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t])))*[ \t]*"
_HEADING = re.compile(rf"^({_CONTAINERS})#")
_UNDERLINE = re.compile(rf"^({_CONTAINERS})([=-])([=-]*[ \t]*)$")  # setext heading
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_LANG = re.compile(r"[\w#.+-]+")


def md_inline(value: object) -> str:
    """Plain text inside Markdown (a table cell, a heading): one line, read literally.

    Pipes would split the cell; `*`, `_`, backticks and brackets would turn a
    title into emphasis, code or a link (`#` cannot start a heading mid-line);
    `<`, `>` and `&` become entities, since python-markdown does not take `\\<`
    as an escape and would pass `\\<script>` through as live HTML.
    """
    text = _HTML_SPECIAL.sub(lambda m: _ENTITIES[m.group()], " ".join(str(value).split()))
    return _INLINE_SPECIAL.sub(r"\\\1", text)


def md_prose(value: object) -> str:
    """A user's Markdown field, inert inside the dossier (see the module docstring)."""
    lines = str(value or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    fence: tuple[str, int] | None = None  # (character, length) of the open fence
    for line in lines:
        if fence is not None:
            char, length = fence
            if re.fullmatch(rf" {{0,3}}{re.escape(char)}{{{length},}}[ \t]*", line):
                out.append(char * length)
                fence = None
            else:
                out.append(line)
            continue
        opened = _FENCE.match(line)
        if opened and not (opened[1][0] == "`" and "`" in opened[2]):
            char, length = opened[1][0], len(opened[1])
            lang = _LANG.match(opened[2].strip())
            out.append(char * length + (lang.group() if lang else ""))
            fence = (char, length)
            continue
        out.append(_inert_line(line))
    if fence is not None:
        out.append(fence[0] * fence[1])
    return "\n".join(out)


def _inert_line(line: str) -> str:
    line = _PROSE_SPECIAL.sub(lambda m: _ENTITIES[m.group()], line)
    line = _DANGEROUS.sub(lambda m: m.group()[:-1] + " :", line)
    line = line.replace("![", "!\\[")  # no image: the app shows none (the sanitiser drops <img>)
    line = _HEADING.sub(r"\1\\#", line)
    return _UNDERLINE.sub(lambda m: m[1] + ("&#61;" if m[2] == "=" else "&#45;") + m[3], line)
