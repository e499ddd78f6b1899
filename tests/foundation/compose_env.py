"""How docker compose reads a `.env` file, for the rules `.env.example` keeps to (compose-go's
dotenv parser): `KEY=VALUE` lines, optionally after `export `; blank lines and `#` lines
ignored; an unquoted value ends at a `#` and loses its trailing blanks; a single-quoted value
is taken as written; a double-quoted one unescapes `\\n`, `\\r`, `\\"` and `\\\\`.

What the two readers (compose and a POSIX shell) would take differently is refused here
instead of modelled: `$` (both expand it, by different rules), a backslash in single quotes,
a quoted value spanning lines or followed by anything but a comment.
"""

from __future__ import annotations

import re

KEY = re.compile(r"[A-Za-z0-9_.]+")
ESCAPES = {"n": "\n", "r": "\r", '"': '"', "\\": "\\"}


class Unsupported(ValueError):
    """A line whose meaning this model of compose's rules does not cover."""


def _quoted(value: str, number: int) -> str:
    quote = value[0]
    end = value.find(quote, 1)
    while end > 0 and value[end - 1] == "\\":  # compose skips an escaped quote
        end = value.find(quote, end + 1)
    if end < 0:
        raise Unsupported(f"line {number}: a quoted value must end on its line")
    inner, rest = value[1:end], value[end + 1 :].strip()
    if rest and not rest.startswith("#"):
        raise Unsupported(f"line {number}: only a comment may follow a quoted value")
    if "$" in inner:
        raise Unsupported(f"line {number}: `$` is expanded differently by compose and sh")
    if quote == "'":
        if "\\" in inner:
            raise Unsupported(f"line {number}: a backslash in single quotes")
        return inner
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m[1], m[0]), inner)


def compose_dotenv(text: str) -> dict[str, str]:
    """The variables docker compose reads from a .env file of this text."""
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export "):
            stripped = stripped.removeprefix("export ").lstrip()
        key, sep, value = stripped.partition("=")
        key = key.rstrip()
        if not sep or not KEY.fullmatch(key):
            raise Unsupported(f"line {number}: not KEY=VALUE: {line!r}")
        value = value.lstrip()
        if value[:1] in ("'", '"'):
            out[key] = _quoted(value, number)
            continue
        value = value.split("#", 1)[0].rstrip()
        if "$" in value:
            raise Unsupported(f"line {number}: `$` is expanded differently by compose and sh")
        out[key] = value
    return out
