"""Core messages as plain terminal text. Outside text is printed as text; nothing is interpreted as markup, and a
terminal gets no control character from it (`displayable`): an escape sequence in a title would act, not show."""

from __future__ import annotations

from bot.messages import Message, Reply, Visibility, displayable, one_line


def render_message(message: Message, number: int | None = None) -> str:
    lines: list[str] = []
    tag = f"[#{number}] " if number is not None else ""
    if message.header:
        lines.append(f"{tag}{one_line(message.header)}")
        tag = ""
    if message.text:
        lines.append(f"{tag}{displayable(message.text)}")
        tag = ""
    if message.body:
        body = displayable(message.body).splitlines()
        lines.extend(f"{tag}{line}" if i == 0 else line for i, line in enumerate(body))
        tag = ""
    for item in message.items:
        votes = f"  ▲{item.upvotes}" if item.upvotes else ""
        lines.append(f"{tag}{item.number:>2}. {one_line(item.title)}{votes}")
        tag = ""
        if item.byline:
            lines.append(f"    {one_line(item.byline)}")
        if item.url:
            lines.append(f"    {one_line(item.url)}")
        if item.tldr:
            lines.append(f"    TL;DR: {one_line(item.tldr)}")
        if item.why:
            lines.append(f"    why: {one_line(item.why)}")
        if item.mentions:
            lines.append("    → " + " ".join(f"@{one_line(user)}" for user in item.mentions))
    lines.extend(f"  · {one_line(line)}" for line in message.context)
    return "\n".join(lines)


def render_reply(reply: Reply, number: int | None = None, thread: int | None = None) -> str:
    text = render_message(reply.message, number)
    prefix = []
    if reply.visibility is Visibility.EPHEMERAL:
        prefix.append("(only you can see this)")
    if thread is not None:
        prefix.append(f"↳ in the thread of #{thread}")
    if prefix:
        text = " ".join(prefix) + "\n" + text
    if thread is not None:
        text = "\n".join("    " + line for line in text.splitlines())
    return text
