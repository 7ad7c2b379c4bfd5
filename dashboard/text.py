"""Text for the pages: user text escaped for Streamlit's markdown, durations in words."""

from __future__ import annotations

import math
import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~:])")
# GitHub-flavoured markdown links bare URLs and e-mail addresses in the text it has already
# unescaped ("http://host", "www.host", "a@host"): a word joiner (U+2060, invisible) after
# the scheme or "www" and before "@" keeps them text.
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp|www)(?=[:.])|(@)")
WORD_JOINER = "\u2060"


def md_escape(text: str) -> str:
    """Text that Streamlit's markdown shows as it is: no links (bare URLs included), HTML,
    LaTeX or emphasis."""
    text = _AUTOLINK.sub(lambda m: f"{m[1]}{WORD_JOINER}" if m[1] else f"{WORD_JOINER}@", str(text))
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", "  \n")


def duration(seconds: float | None) -> str:
    """``75`` -> ``"1 min 15 s"``; ``None`` -> ``"—"``."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    if seconds < 10:
        return f"{seconds:.1f} s"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"
