"""Message entities: parsing `parse_mode=HTML` the way Telegram does, and marking commands in user text.

Entity offsets and lengths count UTF-16 code units, as in the Bot API. Markdown and MarkdownV2 are not
parsed (the text is kept as sent, without entities): the bot formats with HTML.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from sandbox.telegram.errors import bad_request

_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "a": "text_link",
    "span": "spoiler",
}
_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*>"
)
_ATTRIBUTE = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+)))?")
_CHARACTER_REFERENCE = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|quot);")
# Where plain text ends: a tag, or a character reference (an "&" that starts none is plain text too).
_MARKUP = re.compile(r"[<&]")
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,})?(?![A-Za-z0-9_@])")


def utf16_length(text: str) -> int:
    """The length of `text` in UTF-16 code units, the unit of entity offsets."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Open:
    tag: str
    entity: dict[str, Any]
    start: int


def _entity_error(detail: str) -> Exception:
    return bad_request(f"can't parse entities: {detail}")


def _open_entity(tag: str, attributes: dict[str, str], byte_offset: int) -> dict[str, Any]:
    kind = _SIMPLE_TAGS.get(tag)
    if kind is None or (tag == "span" and attributes.get("class") != "tg-spoiler"):
        raise _entity_error(f'Unsupported start tag "{tag}" at byte offset {byte_offset}')
    entity: dict[str, Any] = {"type": kind}
    if tag == "a":
        if not attributes.get("href"):
            raise _entity_error(f'Can\'t find href attribute of tag "a" at byte offset {byte_offset}')
        entity["url"] = attributes["href"]
    elif tag == "blockquote" and "expandable" in attributes:
        entity["type"] = "expandable_blockquote"
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attributes.get("emoji-id", "")
    elif tag == "code" and attributes.get("class", "").startswith("language-"):
        entity["language"] = attributes["class"].removeprefix("language-")
    return entity


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """The plain text and entities of an HTML-formatted message; malformed markup is a Bad Request."""
    pieces: list[str] = []
    position = 0  # in UTF-16 units of the plain text so far
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    index = 0
    while index < len(source):
        markup = _MARKUP.search(source, index)
        end = markup.start() if markup is not None else len(source)
        if end > index:
            # Plain text up to the next tag or character reference, taken as one piece.
            run = source[index:end]
            pieces.append(run)
            position += utf16_length(run)
            index = end
            continue
        if source[index] == "<":
            byte_offset = len(source[:index].encode())
            match = _TAG.match(source, index)
            if match is None:
                raise _entity_error(f"Unexpected character at byte offset {byte_offset}")
            closing, tag = match.group(1) == "/", match.group(2).lower()
            if closing:
                if not stack or stack[-1].tag != tag:
                    expected = f'"</{stack[-1].tag}>"' if stack else "no end tag"
                    raise _entity_error(
                        f"Unmatched end tag at byte offset {byte_offset}, "
                        f'expected {expected}, found "</{tag}>"'
                    )
                _close(stack.pop(), stack, position, entities)
            else:
                attributes = {
                    name.lower(): next((v for v in values if v), "")
                    for name, *values in _ATTRIBUTE.findall(match.group(3))
                }
                stack.append(_Open(tag, _open_entity(tag, attributes, byte_offset), position))
            index = match.end()
            continue
        reference = _CHARACTER_REFERENCE.match(source, index)
        text = html.unescape(reference.group(0)) if reference else "&"
        index = reference.end() if reference else index + 1
        pieces.append(text)
        position += utf16_length(text)
    if stack:
        raise _entity_error(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return "".join(pieces), entities


def _close(opened: _Open, stack: list[_Open], position: int, entities: list[dict[str, Any]]) -> None:
    entity = opened.entity
    if entity["type"] == "code" and stack and stack[-1].entity["type"] == "pre":
        # <pre><code class="language-x"> is one pre entity with a language, as in the Bot API.
        if "language" in entity:
            stack[-1].entity["language"] = entity["language"]
        return
    if position > opened.start:
        entities.append({**entity, "offset": opened.start, "length": position - opened.start})


def command_entities(text: str) -> list[dict[str, Any]]:
    """The `bot_command` entity of a text that starts with a command, as Telegram clients mark it."""
    match = _COMMAND.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_length(match.group(0))}]
