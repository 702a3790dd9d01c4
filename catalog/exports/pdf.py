"""The dossier as PDF, made on the server by WeasyPrint from the same HTML as the page.

WeasyPrint is a maintained HTML/CSS-to-PDF engine in Python: page numbers and the
running header come from the dossier's own CSS (@page), so the PDF and a browser's
print of the page agree. It draws with the system's Pango library; where that is
missing, the PDF is refused with one line saying so (the page still prints).
"""

from __future__ import annotations

from typing import NoReturn


class PdfUnavailable(RuntimeError):
    """WeasyPrint cannot load here (no Pango): the answer is a clear 503, not a traceback."""


def _no_fetching(url: str, *args: object, **kwargs: object) -> NoReturn:
    # The dossier is self-contained; nothing it holds (a link, an image in a vector's
    # Markdown) may make the server fetch a URL or read a file while rendering.
    raise ValueError(f"Not fetched while making a PDF: {url[:80]}")


def html_to_pdf(html: str) -> bytes:
    try:
        from weasyprint import HTML
    except OSError as exc:  # cffi could not open libpango/libgobject
        raise PdfUnavailable(
            "PDF needs the Pango library on the server (Debian: apt-get install "
            "libpango-1.0-0 libpangoft2-1.0-0); the dossier page still prints to PDF "
            "from a browser."
        ) from exc
    return HTML(string=html, url_fetcher=_no_fetching).write_pdf()
