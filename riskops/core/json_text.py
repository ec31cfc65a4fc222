"""Lone surrogates in parsed JSON: text that JSON can spell but no database can store.

JSON lets a string hold `"\\ud800"`, half of a UTF-16 pair with no other half; Python's json
module turns it into a str holding the code point U+D800, which no UTF-8 encoder accepts. It used
to travel to the database driver and come back as a 500 (UnicodeEncodeError) on the API's write
endpoints. Every place JSON comes in (the API's parser, the policy editor in the admin) asks
`lone_surrogate_path` after parsing and refuses the document naming the field. A body read from
UTF-8 bytes cannot hold a raw surrogate (the decoder refuses it), so only the `\\u` escape brings
one, and `may_hold_lone_surrogate` lets the common document skip the walk.
"""

import re

# A \u escape of a surrogate (D800–DFFF). A proper pair matches too; the walk tells them apart.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF][0-9a-fA-F]{2}")


def may_hold_lone_surrogate(text: str) -> bool:
    """False when `text` (JSON source) cannot parse to a string with a lone surrogate."""
    return "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None


_BAD_KEY = object()  # stands in the walk for a key that holds one


def _is_unencodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def lone_surrogate_path(data: object, *, key_shown: int = 100) -> str | None:
    """The path (`items[2].note`, `raw.lines[0]`; "" for the document itself) of the first string,
    in document order, that holds a lone surrogate, or None. A key holding one is named by its
    parent's path and the key with the surrogate replaced, so the name can be shown. Iterative: a
    deep document cannot exhaust the stack."""
    stack: list[tuple[object, str]] = [(data, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if _is_unencodable(node):
                return path
        elif node is _BAD_KEY:
            return path
        elif isinstance(node, dict):
            for key, value in reversed(node.items()):
                if isinstance(key, str) and _is_unencodable(key):
                    shown = key.encode("utf-8", "replace").decode("utf-8")[:key_shown]
                    stack.append((_BAD_KEY, _path(path, shown)))
                else:
                    stack.append((value, _path(path, key)))
        elif isinstance(node, list):
            stack.extend((value, _path(path, index)) for index, value in reversed(list(enumerate(node))))
    return None
