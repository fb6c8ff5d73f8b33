"""Bytes of a fetched page → readable text: content-type gate, charset, HTML main-text extraction.

HTML goes through trafilatura (maintained main-content extraction: drops navigation, footers,
scripts; keeps paragraphs, lists and tables). Charsets: BOM, then the declared charset, then
the page's `<meta charset>`, then UTF-8, then charset-normalizer's detection — each tried
strictly, so a page that lies about its encoding falls through to the next guess.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from html.parser import HTMLParser

import charset_normalizer

from tools.web.http import NotText

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_TEXT_APPLICATION_TYPES = frozenset(
    {"application/json", "application/xml", "application/javascript", "application/x-ndjson"}
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SNIFF_BYTES = 4096
_HEAD_CHARS = 65_536


def is_text_type(media_type: str) -> bool:
    """Whether fetch_url reads this type; an absent type is sniffed from the bytes instead."""
    return (
        not media_type
        or media_type.startswith("text/")
        or media_type in HTML_TYPES
        or media_type in _TEXT_APPLICATION_TYPES
        or media_type.endswith(("+xml", "+json"))
    )


@dataclass(frozen=True)
class Page:
    title: str
    text: str
    encoding: str


class _HeadScanner(HTMLParser):
    """Collects the <title> and a <meta> charset declaration; tolerant of broken markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title_parts: list[str] = []
        self.charset: str | None = None
        self._in_title = False
        self._title_done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and not self._title_done:
            self._in_title = True
        elif tag == "meta" and self.charset is None:
            values = {k.lower(): (v or "") for k, v in attrs}
            if values.get("charset"):
                self.charset = values["charset"].strip()
            elif values.get("http-equiv", "").lower() == "content-type":
                _, _, tail = values.get("content", "").lower().partition("charset=")
                self.charset = tail.split(";")[0].strip(" \"'") or None

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title, self._title_done = False, True

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title_parts.append(data)


def _scan_head(markup: str) -> _HeadScanner:
    scanner = _HeadScanner()
    scanner.feed(markup[:_HEAD_CHARS])
    scanner.close()
    return scanner


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        return codecs.lookup(label.strip()).name
    except LookupError:
        return None


def _try(body: bytes, encoding: str | None) -> str | None:
    if encoding is None:
        return None
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def decode(body: bytes, declared: str | None, *, html: bool) -> tuple[str, str]:
    """The text and the encoding that produced it."""
    for bom, bom_encoding in _BOMS:
        if body.startswith(bom):
            return body.decode(bom_encoding, errors="replace"), bom_encoding
    candidates: list[str | None] = [_codec(declared)]
    if html:
        # ASCII-compatible peek: enough to read a <meta charset> without knowing the charset.
        candidates.append(_codec(_scan_head(body[:_SNIFF_BYTES].decode("latin-1")).charset))
    candidates.append("utf-8")
    for candidate in candidates:
        text = _try(body, candidate)
        if text is not None and candidate is not None:
            return text, candidate
    best = charset_normalizer.from_bytes(body).best()
    if best is not None:
        return str(best), best.encoding
    fallback = _codec(declared) or "utf-8"
    return body.decode(fallback, errors="replace"), fallback


def looks_binary(body: bytes) -> bool:
    head = body[:_SNIFF_BYTES]
    if any(head.startswith(bom) for bom, _ in _BOMS):
        return False
    return b"\x00" in head


def _html_text(markup: str, url: str) -> str:
    import trafilatura  # ~0.3 s to import: paid on the first page, not at service start-up

    text = trafilatura.extract(
        markup,
        url=url,
        favor_recall=True,
        include_comments=False,
        include_tables=True,
        deduplicate=True,
    )
    if not text or not text.strip():
        # No main content found (a tiny page, a listing): all visible text instead.
        text = trafilatura.html2txt(markup)
    return text.strip()


def page_text(body: bytes, media_type: str, charset: str | None, url: str) -> Page:
    """CPU-bound (lxml parsing): callers run it in a worker thread."""
    if looks_binary(body):
        raise NotText(f"{url} is binary data, not a readable text page")
    sniffed_html = not media_type and body.lstrip()[:512].lower().startswith(
        (b"<!doctype", b"<html")
    )
    html = media_type in HTML_TYPES or sniffed_html
    text, encoding = decode(body, charset, html=html)
    if not html:
        return Page(title="", text=text.strip(), encoding=encoding)
    title = " ".join("".join(_scan_head(text).title_parts).split())
    return Page(title=title, text=_html_text(text, url), encoding=encoding)


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def markup_to_text(fragment: str) -> str:
    """Visible text of a small HTML fragment (a search snippet), whitespace collapsed."""
    parser = _TextOnly()
    parser.feed(fragment)
    parser.close()
    return " ".join("".join(parser.parts).split())
