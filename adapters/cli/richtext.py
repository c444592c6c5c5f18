"""Replies for a terminal: bold and bullets as terminal styles, or plain words when piped.

`terminal_text(reply)` is what `beatbot chat` prints for a reply's words: a `rich.text.Text`
(print it with `Console.print`) whose styles show on a terminal and vanish in a pipe.
"""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text

from bot.messages import TextReply
from bot.richtext import Markup, RichText, render

CONSOLE = Markup(
    escape=escape,
    escape_code=escape,
    escape_url=lambda url: url.replace("]", "%5D"),
    bold="[bold]{}[/bold]",
    italic="[italic]{}[/italic]",
    code="[cyan]{}[/cyan]",
    link="{text} ([link={url}]{url}[/link])",  # the address shows where links can't
)


def terminal_text(reply: object) -> Text:
    """A reply's words as styled terminal text (its plain text is `reply.text`)."""
    body = reply.body if isinstance(reply, TextReply) else RichText.of(getattr(reply, "text", ""))
    return Text.from_markup(render(body, CONSOLE))
