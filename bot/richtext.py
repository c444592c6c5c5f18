"""Rich text without a syntax: paragraphs of styled spans and bullet lists.

BeatBot's longer answers (help, the genre table) have bold words and bullets. Each surface
writes those its own way (Discord markdown, Slack mrkdwn, HTML in the widget, styles in a
terminal), so replies carry this neutral value and each adapter renders it with its own
`Markup`. No surface ever sees another's syntax (no `**bold**` in Slack or a terminal).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

Style = Literal["plain", "bold", "italic", "code", "link"]


@dataclass(frozen=True)
class Span:
    text: str
    style: Style = "plain"
    url: str = ""  # links only


Inline = tuple[Span, ...]


@dataclass(frozen=True)
class Paragraph:
    spans: Inline


@dataclass(frozen=True)
class Bullets:
    items: tuple[Inline, ...]


Block = Paragraph | Bullets


@dataclass(frozen=True)
class RichText:
    blocks: tuple[Block, ...] = ()

    @classmethod
    def of(cls, text: str) -> RichText:
        """Plain text, one paragraph per line."""
        return cls(tuple(Paragraph((Span(line),)) for line in text.splitlines()))

    def plain(self) -> str:
        """The words alone, for surfaces (and logs) without formatting."""
        return render(self, PLAIN)

    def __add__(self, other: RichText) -> RichText:
        return RichText(self.blocks + other.blocks)


# --- building ---------------------------------------------------------------------------


def bold(text: str) -> Span:
    return Span(text, "bold")


def italic(text: str) -> Span:
    return Span(text, "italic")


def code(text: str) -> Span:
    return Span(text, "code")


def link(text: str, url: str) -> Span:
    return Span(text, "link", url)


def _inline(parts: Iterable[str | Span]) -> Inline:
    return tuple(Span(p) if isinstance(p, str) else p for p in parts)


def para(*parts: str | Span) -> Paragraph:
    return Paragraph(_inline(parts))


def bullets(*items: str | Span | Iterable[str | Span]) -> Bullets:
    """Each item is a string, a span, or a sequence of them."""
    return Bullets(
        tuple(_inline([i] if isinstance(i, str | Span) else i) for i in items)  # type: ignore[list-item]
    )


def rich(*blocks: Block) -> RichText:
    return RichText(tuple(blocks))


# --- rendering --------------------------------------------------------------------------


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class Markup:
    """How one surface writes rich text. Templates take the escaped text as `{}`; `link`
    takes `{text}` and `{url}`."""

    escape: Callable[[str], str] = _same
    escape_code: Callable[[str], str] = _same
    escape_url: Callable[[str], str] = _same
    bold: str = "{}"
    italic: str = "{}"
    code: str = "{}"
    link: str = "{text} ({url})"
    paragraph: str = "{}"
    item: str = "• {}"
    items: str = "{}"  # around the joined items of one list
    between_items: str = "\n"
    between_blocks: str = "\n"
    safe_schemes: tuple[str, ...] = field(default=("https://", "http://"))


PLAIN = Markup()


def render(text: RichText, markup: Markup) -> str:
    blocks = []
    for block in text.blocks:
        if isinstance(block, Paragraph):
            blocks.append(markup.paragraph.format(_spans(block.spans, markup)))
        else:
            items = [markup.item.format(_spans(item, markup)) for item in block.items]
            blocks.append(markup.items.format(markup.between_items.join(items)))
    return markup.between_blocks.join(blocks)


def _spans(spans: Inline, markup: Markup) -> str:
    return "".join(_span(span, markup) for span in spans)


def _span(span: Span, markup: Markup) -> str:
    if span.style == "code":
        return markup.code.format(markup.escape_code(span.text))
    text = markup.escape(span.text)
    if span.style == "link":
        if not span.url.startswith(markup.safe_schemes):
            return text  # never a javascript: or data: link, whoever wrote it
        return markup.link.format(text=text, url=markup.escape_url(span.url))
    if span.style == "plain" or not span.text.strip():
        return text
    template = markup.bold if span.style == "bold" else markup.italic
    # Markers hug the words: "**trap** " not "**trap **", which some surfaces won't style.
    stripped = text.strip()
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
    return lead + template.format(stripped) + trail
