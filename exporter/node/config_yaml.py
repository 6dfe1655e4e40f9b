"""The YAML of mongod's and pbm-agent's config files, read with the standard library (node-check cannot count on
PyYAML on a database host): block mappings and sequences by indentation, plain, single- and double-quoted
scalars, comments, and plain scalars folded over several lines, which is all mongod.conf and pbm-agent's config
use. What it does not read (flow collections, block scalars, anchors, aliases and tags) it keeps as an
`Unread` value, so a file using them elsewhere still gives the keys node-check needs; a file it cannot follow
raises ConfigError with the line. tests/test_node_check.py compares it with PyYAML on generated documents.
Scalars resolve as YAML's core schema does for what these files hold: integers, null, and strings.
"""

import re
from typing import Any, Dict, List, NamedTuple, Optional, Tuple


class ConfigError(ValueError):
    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line = line


class Unread(NamedTuple):
    """A value written in YAML this reader does not follow, e.g. `[a, b]` or `|`: present, but not read."""

    line: int


class _Line(NamedTuple):
    number: int
    indent: int
    text: str  # without indentation and comment


_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)$")
_NULLS = ("", "~", "null", "Null", "NULL")


def load(text: str) -> Any:
    """The document's value: a dict for these files; None when empty."""
    lines = _lines(text)
    if not lines:
        return None
    value, at = _block(lines, 0, lines[0].indent)
    if at < len(lines):
        raise ConfigError(lines[at].number, "unexpected indentation")
    return value


def _lines(text: str) -> List[_Line]:
    out = []
    block_indent: Optional[int] = None  # inside a block scalar (| or >): its lines are skipped
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.lstrip(" ")
        indent = len(raw) - len(stripped)
        if block_indent is not None:
            if not stripped.strip() or indent > block_indent:
                continue
            block_indent = None
        if stripped.startswith("\t"):
            raise ConfigError(number, "a tab in the indentation (YAML allows spaces only)")
        content = _strip_comment(stripped).rstrip()
        if not content or (indent == 0 and content in ("---", "...")):
            continue
        if indent == 0 and content.startswith(("%", "--- ")):
            raise ConfigError(number, "YAML directives and several documents are not read")
        if re.search(r"(^|:\s|-\s)[|>][-+0-9]*$", content):
            block_indent = indent
        out.append(_Line(number, indent, content))
    return out


def _strip_comment(text: str) -> str:
    """The text before a comment: a '#' at its start or after a space, outside quotes."""
    quote = ""
    for i, char in enumerate(text):
        if quote:
            if char == quote and not (quote == '"' and _escaped(text, i)):
                quote = ""
        elif char in "\"'" and (i == 0 or text[i - 1] in " :-[{,"):
            quote = char
        elif char == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i]
    return text


def _escaped(text: str, i: int) -> bool:
    backslashes = len(text[:i]) - len(text[:i].rstrip("\\"))
    return backslashes % 2 == 1


def _block(lines: List[_Line], at: int, indent: int) -> Tuple[Any, int]:
    if lines[at].text == "-" or lines[at].text.startswith("- "):
        return _sequence(lines, at, indent)
    return _mapping(lines, at, indent)


def _mapping(lines: List[_Line], at: int, indent: int) -> Tuple[Dict[Any, Any], int]:
    out: Dict[Any, Any] = {}
    while at < len(lines) and lines[at].indent == indent:
        line = lines[at]
        if line.text == "-" or line.text.startswith("- "):
            raise ConfigError(line.number, "a sequence item where a mapping key was expected")
        key, rest = _key(line)
        at += 1
        if rest:
            value: Any = _scalar(rest, line.number)
            while isinstance(value, str) and at < len(lines) and lines[at].indent > indent and \
                    not _is_quoted(rest):  # a plain scalar folded over several lines
                if _split_key(lines[at].text) is not None:
                    raise ConfigError(lines[at].number, "a mapping key inside a plain scalar")
                value, at = f"{value} {lines[at].text}", at + 1
        elif at < len(lines) and lines[at].indent > indent:
            value, at = _block(lines, at, lines[at].indent)
        elif at < len(lines) and lines[at].indent == indent and (lines[at].text == "-"
                                                                 or lines[at].text.startswith("- ")):
            value, at = _sequence(lines, at, indent)  # YAML lets a key's sequence sit at the key's own indent
        else:
            value = None
        out[key] = value
    if at < len(lines) and lines[at].indent > indent:
        raise ConfigError(lines[at].number, "unexpected indentation")
    return out, at


def _sequence(lines: List[_Line], at: int, indent: int) -> Tuple[List[Any], int]:
    out: List[Any] = []
    while at < len(lines) and lines[at].indent == indent and (lines[at].text == "-"
                                                              or lines[at].text.startswith("- ")):
        line = lines[at]
        item = line.text[1:].lstrip(" ")
        if not item:  # "-" alone: the item is the block below, or null
            at += 1
            if at < len(lines) and lines[at].indent > indent:
                value, at = _block(lines, at, lines[at].indent)
            else:
                value = None
            out.append(value)
            continue
        inner = indent + len(line.text) - len(item)
        if _split_key(item) is not None or item == "-" or item.startswith("- "):
            # "- key: value": a mapping (or "- - x": a sequence) whose first line starts after the dash
            lines[at] = _Line(line.number, inner, item)  # the list is this reader's own
            value, at = _block(lines, at, inner)
            out.append(value)
        else:
            out.append(_scalar(item, line.number))
            at += 1
    return out, at


def _split_key(text: str) -> Optional[Tuple[str, str]]:
    """(key, rest) when the text is `key: rest` or `key:`; None when it is a scalar alone."""
    if _is_quoted(text):
        end = _quote_end(text)
        if end is None:
            return None
        after = text[end + 1:]
        if after == ":" or after.startswith(": "):
            return text[:end + 1], after[1:].strip()
        return None
    match = re.search(r":(\s|$)", text)
    if match is None or text[:1] in "[{":
        return None
    return text[:match.start()].rstrip(), text[match.end():].strip()


def _key(line: _Line) -> Tuple[Any, str]:
    split = _split_key(line.text)
    if split is None:
        raise ConfigError(line.number, "expected `key: value`")
    key, rest = split
    if key.startswith(("?", "&", "*", "!", "[", "{")):
        raise ConfigError(line.number, "a complex, anchored or tagged key is not read")
    return _scalar(key, line.number), rest


def _quote_end(text: str) -> Optional[int]:
    quote, i = text[0], 1
    while i < len(text):
        if text[i] == quote:
            if quote == "'" and text[i + 1:i + 2] == "'":
                i += 2
                continue
            if quote == '"' and _escaped(text, i):
                i += 1
                continue
            return i
        i += 1
    return None


def _is_quoted(text: str) -> bool:
    return text[:1] in "\"'"


# YAML 1.1's escapes in double-quoted scalars (spec 5.7), the hex ones by their length
_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r",
            "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028",
            "P": "\u2029"}
_HEX = {"x": 2, "u": 4, "U": 8}
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.DOTALL)


def _unescape(match: "re.Match[str]", number: int) -> str:
    code = match.group(1)
    if code[0] in _HEX and len(code) == 1 + _HEX[code[0]]:
        try:
            return chr(int(code[1:], 16))
        except (ValueError, OverflowError):
            pass
    elif code in _ESCAPES:
        return _ESCAPES[code]
    raise ConfigError(number, "a double-quoted string with an escape YAML does not have")


def _scalar(text: str, number: int) -> Any:
    if _is_quoted(text):
        end = _quote_end(text)
        if end is None:
            raise ConfigError(number, "a quoted string that does not end on its line")
        if text[end + 1:].strip():
            raise ConfigError(number, "text after a quoted string")
        body = text[1:end]
        if text[0] == "'":
            return body.replace("''", "'")
        return _ESCAPE.sub(lambda m: _unescape(m, number), body)
    if text in ("{}", "[]"):  # the empty flow collections, as a dump writes an empty section
        return {} if text == "{}" else []
    if text[:1] in "[{&*!|>%@`":
        return Unread(number)  # flow collections, anchors, aliases, tags, block scalars; reserved characters
    if text in _NULLS:
        return None
    if _INT.match(text):
        return int(text)
    return text
