"""The language of a search query, judged from the script its letters are written in.

A script is weak evidence of a language, but it is the evidence a one-line query carries, and
it is the decision that matters here: Cyrillic queries belong on the Russian Wikipedia (or
Yandex's Russian search), not the English one.
"""

from __future__ import annotations

import unicodedata

# Unicode character-name prefix → Wikipedia language code. Cyrillic is refined below.
_SCRIPTS = {
    "CYRILLIC": "ru",
    "GREEK": "el",
    "ARMENIAN": "hy",
    "GEORGIAN": "ka",
    "HEBREW": "he",
    "ARABIC": "ar",
    "DEVANAGARI": "hi",
    "BENGALI": "bn",
    "TAMIL": "ta",
    "THAI": "th",
    "HANGUL": "ko",
    "HIRAGANA": "ja",
    "KATAKANA": "ja",
    "CJK": "zh",
}
# Letters that occur in these Cyrillic alphabets but not in Russian.
_CYRILLIC_MARKERS = (("іїєґ", "uk"), ("ў", "be"), ("әғқңөұүһ", "kk"))


def _script(char: str) -> str | None:
    name = unicodedata.name(char, "")
    for prefix in _SCRIPTS:
        if name.startswith(prefix):
            return prefix
    return "LATIN" if name.startswith("LATIN") else None


def query_language(query: str, default: str) -> str:
    """A language code for the query: its dominant non-Latin script, else `default`."""
    counts: dict[str, int] = {}
    for char in query:
        if char.isalpha():
            script = _script(char)
            if script is not None:
                counts[script] = counts.get(script, 0) + 1
    # Latin letters also spell brand names and code in every language ("iPhone 15 обзор"):
    # any other script present is the better clue.
    counts.pop("LATIN", None)
    if not counts:
        return default
    script = max(counts, key=lambda s: counts[s])
    # Kana anywhere means Japanese even when kanji (CJK) outnumber it.
    if script == "CJK" and (counts.get("HIRAGANA") or counts.get("KATAKANA")):
        return "ja"
    if script == "CYRILLIC":
        lowered = query.lower()
        for letters, code in _CYRILLIC_MARKERS:
            if any(c in lowered for c in letters):
                return code
    return _SCRIPTS[script]
