"""Replies as safe HTML for the chat widget: the server escapes, the page only inserts.

Everything a person or a file name could have typed is escaped; the only markup is ours
(paragraphs, lists, strong, em, code and http(s) links that open in a new tab).
"""

from __future__ import annotations

import html

from bot.messages import TextReply
from bot.richtext import Markup, RichText, render

HTML = Markup(
    escape=html.escape,
    escape_code=html.escape,
    escape_url=html.escape,
    bold="<strong>{}</strong>",
    italic="<em>{}</em>",
    code="<code>{}</code>",
    link='<a href="{url}" target="_blank" rel="noopener noreferrer">{text}</a>',
    paragraph="<p>{}</p>",
    item="<li>{}</li>",
    items="<ul>{}</ul>",
    between_items="",
    between_blocks="",
)


def reply_html(reply: object) -> str:
    """The reply's words as HTML ("" for replies without words, e.g. progress)."""
    if isinstance(reply, TextReply):
        return render(reply.body, HTML)
    text = getattr(reply, "text", None)
    return render(RichText.of(text), HTML) if isinstance(text, str) else ""
