"""Numbers written as words -> digits, so the parser's number rules read them like "140".

"a hundred and twenty" -> 120, "ninety-five" -> 95, "two hundred" -> 200, and the way
producers say tempos: "one forty" -> 140, "one twenty-five" -> 125, "one oh five" -> 105.
A lone "one" stays a word ("one more", "another one", "that one") unless a unit follows
("one bpm", "one and a half minutes"); "a", "and" and "oh" only count inside a number.
"""

from __future__ import annotations

import re

UNITS: dict[str, int] = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
TEENS: dict[str, int] = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS: dict[str, int] = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,  # a common misspelling
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_NUMBER = "|".join(sorted([*UNITS, *TEENS, *TENS, "hundred"], key=len, reverse=True))
# A run of number words joined by spaces or hyphens, possibly with "a"/"and"/"oh" inside.
_RUN = re.compile(
    r"\b(?:an?\s+(?=hundred\b))?(?:" + _NUMBER + r")\b"
    r"(?:(?:\s*-\s*|\s+)(?:(?:" + _NUMBER + r"|and|oh|a)\b))*"
)


def _first_letter_groups(words: list[str]) -> str:
    """ "one|two|ten" -> "o(?:ne)|t(?:wo|en)": the regex engine then skips, in C, every
    position whose letter starts no number word (a third of the cost of the flat list)."""
    groups: dict[str, list[str]] = {}
    for word in sorted(words, key=len, reverse=True):
        groups.setdefault(word[0], []).append(re.escape(word[1:]))
    return "|".join(f"{first}(?:{'|'.join(rests)})" for first, rests in groups.items())


# A cheap first look: it may also match inside a word ("someone"), which only costs the
# real pass below; it never misses a number word.
_ANY = re.compile(r"(?:" + _first_letter_groups([*UNITS, *TEENS, *TENS, "hundred"]) + r")\b")
_WORD = re.compile(r"[a-z]+")
_GLUE = frozenset({"a", "an", "and", "oh"})
# What makes a lone "one" a quantity.
_UNIT_AFTER = re.compile(
    r"\s*-?\s*(?:bpm|beats?\s+per|seconds?|secs?|minutes?|mins?|hours?|hrs?|and\s+a\s+half)\b"
)


def digits_for_words(text: str) -> str:
    """Lower-case text with every number written in words replaced by its digits."""
    if _ANY.search(text) is None:  # most messages: one cheap scan, nothing to do
        return text
    return _RUN.sub(_replace, text)


def _replace(match: re.Match[str]) -> str:
    words = _WORD.findall(match.group())
    numbers = [w for w in words if w not in _GLUE]
    if numbers == ["one"] and not _UNIT_AFTER.match(match.string, match.start() + 3):
        return match.group()  # "one more", "another one and ...": a word, not a quantity
    out: list[str] = []
    i = 0
    while i < len(words):
        read = _read_number(words, i)
        if read is None:
            out.append(words[i])
            i += 1
        else:
            value, i = read
            out.append(str(value))
    return " ".join(out)


def _read_number(words: list[str], i: int) -> tuple[int, int] | None:
    """The number starting at words[i] and the index after it, or None."""
    n = len(words)
    word = words[i]
    # "a hundred", "two hundred", "hundred" (+ "and" + the rest)
    if i + 1 < n and words[i + 1] == "hundred" and (word in UNITS or word in ("a", "an")):
        hundreds, i = UNITS.get(word, 1), i + 2
    elif word == "hundred":
        hundreds, i = 1, i + 1
    else:
        hundreds = 0
    if hundreds:
        after_and = i + 1 if i < n and words[i] == "and" else i
        rest = _below_hundred(words, after_and) if after_and < n else None
        if rest is None:
            return hundreds * 100, i
        return hundreds * 100 + rest[0], rest[1]
    # tempo talk: "one forty" (140), "one twenty-five" (125), "one oh five" (105)
    if word in UNITS and i + 1 < n:
        nxt = words[i + 1]
        if nxt == "oh" and i + 2 < n and words[i + 2] in UNITS:
            return UNITS[word] * 100 + UNITS[words[i + 2]], i + 3
        if nxt in TENS or nxt in TEENS:
            rest = _below_hundred(words, i + 1)
            if rest is not None:
                return UNITS[word] * 100 + rest[0], rest[1]
    return _below_hundred(words, i)


def _below_hundred(words: list[str], i: int) -> tuple[int, int] | None:
    word = words[i]
    if word in TENS:
        if i + 1 < len(words) and words[i + 1] in UNITS:
            return TENS[word] + UNITS[words[i + 1]], i + 2
        return TENS[word], i + 1
    if word in TEENS:
        return TEENS[word], i + 1
    if word in UNITS:
        return UNITS[word], i + 1
    return None
