"""Unique-code generation: what a pool's codes look like, how many could exist, and drawing them
from the operating system's CSPRNG without bias.

A spec is either a length (every character from the charset) or a pattern in which `#` is a
digit of the charset, `?` a letter of the charset and `*` any character of it; everything else
is written as is. A prefix and a suffix wrap either. Codes match case-insensitively, so a
charset is taken in upper case with duplicates dropped: 'a' and 'A' are one character.
"""

import re
import secrets
from dataclasses import dataclass
from functools import cache

from app.domain.codes import CODE_MAX_LENGTH

# No look-alikes: 0/O, 1/I/L are left out.
DEFAULT_CHARSET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
DEFAULT_LENGTH = 10
# A guessed code may hit a live one with a chance of at most one in this many: the space of
# possible codes must be this many times the number of codes asked for.
MIN_SPACE_PER_CODE = 1_000_000

_LITERAL = re.compile(r"^[A-Za-z0-9._-]*$")
_PLACEHOLDERS = {"#": "digits", "?": "letters", "*": "charset"}


class CodeSpecError(ValueError):
    """A spec that cannot describe codes: the message says which part and why."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Segment:
    """Either literal text, or `length` characters drawn from `alphabet`."""

    literal: str = ""
    alphabet: str = ""
    length: int = 0


@dataclass(frozen=True, slots=True)
class CodeSpec:
    segments: tuple[Segment, ...]

    @property
    def space(self) -> int:
        """How many different codes the spec can produce."""
        space = 1
        for segment in self.segments:
            if segment.length:
                space *= len(segment.alphabet) ** segment.length
        return space

    @property
    def code_length(self) -> int:
        return sum(len(s.literal) + s.length for s in self.segments)

    def max_unguessable_count(self) -> int:
        """The most codes the spec can hold while a guess stays a one-in-MIN_SPACE_PER_CODE shot."""
        return self.space // MIN_SPACE_PER_CODE

    def check_count(self, count: int) -> None:
        if count > self.max_unguessable_count():
            raise CodeSpecError(
                f"{count} codes from a space of {self.space} possible codes would be guessable: "
                f"at most {self.max_unguessable_count()} fit (the space must be "
                f"{MIN_SPACE_PER_CODE:,} times the count). Use a longer length or pattern, "
                "or a larger charset.",
                field="count",
            )


def parse_spec(
    *,
    charset: str = DEFAULT_CHARSET,
    length: int | None = None,
    pattern: str | None = None,
    prefix: str = "",
    suffix: str = "",
) -> CodeSpec:
    """The segments of a spec, refused with a CodeSpecError when a part makes no valid codes."""
    alphabet = _alphabet(charset)
    for name, text in (("prefix", prefix), ("suffix", suffix)):
        if not _LITERAL.match(text):
            raise CodeSpecError(f"'{name}' may hold only letters, digits, '-', '_' and '.'.", name)
    if pattern is not None and length is not None:
        raise CodeSpecError("Give either 'length' or 'pattern', not both.", "pattern")
    middle = (
        _pattern_segments(pattern, alphabet)
        if pattern is not None
        else (Segment(alphabet=alphabet, length=DEFAULT_LENGTH if length is None else length),)
    )
    segments = tuple(
        s
        for s in (Segment(literal=prefix.upper()), *middle, Segment(literal=suffix.upper()))
        if s.literal or s.length
    )
    spec = CodeSpec(segments)
    if not any(s.length for s in segments):
        raise CodeSpecError("The code has no random part.", "pattern" if pattern else "length")
    if spec.code_length > CODE_MAX_LENGTH:
        raise CodeSpecError(
            f"Codes would be {spec.code_length} characters long; the most is {CODE_MAX_LENGTH}.",
            "pattern" if pattern else "length",
        )
    first = segments[0]
    if first.literal and not first.literal[0].isalnum():
        raise CodeSpecError("A code must start with a letter or a digit.", "prefix")
    return spec


def _alphabet(charset: str) -> str:
    if not charset.isascii() or not charset.isalnum():
        raise CodeSpecError("'charset' may hold only ASCII letters and digits.", "charset")
    alphabet = "".join(dict.fromkeys(charset.upper()))
    if len(alphabet) < 2:
        raise CodeSpecError("'charset' needs at least two different characters.", "charset")
    return alphabet


def _pattern_segments(pattern: str, alphabet: str) -> tuple[Segment, ...]:
    classes = {
        "digits": "".join(c for c in alphabet if c.isdigit()),
        "letters": "".join(c for c in alphabet if c.isalpha()),
        "charset": alphabet,
    }
    segments: list[Segment] = []
    for run in re.finditer(r"#+|\?+|\*+|[^#?*]+", pattern):
        text = run.group()
        kind = _PLACEHOLDERS.get(text[0])
        if kind is None:
            if not _LITERAL.match(text):
                raise CodeSpecError(
                    "A pattern holds '#' (digit), '?' (letter), '*' (any character of the "
                    "charset) and literal letters, digits, '-', '_' and '.'.",
                    "pattern",
                )
            segments.append(Segment(literal=text.upper()))
            continue
        chosen = classes[kind]
        if len(chosen) < 2:
            raise CodeSpecError(
                f"The pattern asks for {kind} with '{text[0]}' but the charset has fewer than "
                f"two {kind}.",
                "pattern",
            )
        segments.append(Segment(alphabet=chosen, length=len(text)))
    return tuple(segments)


@cache
def _byte_table(alphabet: str) -> tuple[bytes, int]:
    """A bytes.translate table mapping each byte value to a character of the alphabet, and the
    zero byte for the top values that would make some characters likelier than others."""
    size = len(alphabet)
    usable = 256 - 256 % size
    table = bytes(ord(alphabet[value % size]) if value < usable else 0 for value in range(256))
    return table, usable


def draw(alphabet: str, count: int) -> str:
    """count characters, each uniformly and independently from alphabet (at most 256 ASCII
    characters), from secrets.token_bytes by rejection sampling."""
    table, usable = _byte_table(alphabet)
    chunks: list[bytes] = []
    have = 0
    while have < count:
        wanted = count - have
        raw = secrets.token_bytes(wanted * 256 // usable + 16)
        chunk = raw.translate(table).replace(b"\0", b"")
        chunks.append(chunk)
        have += len(chunk)
    return b"".join(chunks)[:count].decode("ascii")


def generate(spec: CodeSpec, count: int) -> list[str]:
    """count codes following spec, in upper case. Independent draws: two may be equal, so the
    caller keeps uniqueness (the database's unique constraint) and draws again for the losers."""
    streams = [
        draw(segment.alphabet, segment.length * count) if segment.length else segment.literal
        for segment in spec.segments
    ]
    if len(spec.segments) == 1:
        length = spec.segments[0].length
        return [streams[0][i * length : (i + 1) * length] for i in range(count)]
    parts = []
    for segment, stream in zip(spec.segments, streams, strict=True):
        if segment.length:
            size = segment.length
            parts.append([stream[i * size : (i + 1) * size] for i in range(count)])
        else:
            parts.append([stream] * count)
    return ["".join(pieces) for pieces in zip(*parts, strict=True)]
