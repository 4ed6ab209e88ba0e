"""Selection positions from other programs mapped onto qualcode's text.

qualcode stores text with ``\\n`` line ends; a REFI-QDA source may use CRLF, and
programs differ on whether a CRLF counts as one character or two.
:func:`normalise_newlines` gives both maps, :func:`choose_map` picks the one the
selections fit, :func:`map_pos` applies it.
"""

from __future__ import annotations

from typing import Sequence
from xml.etree import ElementTree as ET


def normalise_newlines(raw: str) -> tuple[str, list[int], list[int]]:
    """Text with CRLF/CR as LF, plus maps from positions in ``raw`` to the new text.

    ``raw_map[i]`` is the position in the new text of raw position ``i`` (for
    positions counting CRLF as two characters); ``crlf1_map`` the same for positions
    counting CRLF as one.
    """
    if "\r" not in raw:
        return raw, [], []
    out_chars: list[str] = []
    raw_map: list[int] = []
    crlf1_map: list[int] = []
    i, n = 0, len(raw)
    while i < n:
        ch = raw[i]
        pos = len(out_chars)
        if ch == "\r":
            if i + 1 < n and raw[i + 1] == "\n":
                raw_map += [pos, pos]  # "\r" and "\n" both map to the LF
                crlf1_map.append(pos)
                out_chars.append("\n")
                i += 2
                continue
            out_chars.append("\n")
        else:
            out_chars.append(ch)
        raw_map.append(pos)
        crlf1_map.append(pos)
        i += 1
    new = "".join(out_chars)
    raw_map.append(len(new))
    crlf1_map.append(len(new))
    return new, raw_map, crlf1_map


def map_pos(m: list[int], pos: int, *, end: bool) -> int | None:
    if not m:
        return pos
    if pos < 0 or pos >= len(m):
        return None
    if end and pos > 0 and m[pos] == m[pos - 1]:
        # an end inside a CRLF pair: include the newline
        return m[pos] + 1
    return m[pos]


def choose_map(raw: str, text: str, raw_map: list[int], crlf1_map: list[int],
                sels: Sequence[ET.Element]) -> list[int]:
    """Decide whether selection positions count CRLF as two characters (the raw text)
    or one, using selection names that quote the text, else positions past the end."""
    score_raw = score_one = 0
    for sel in sels[:500]:
        try:
            s0, e0 = int(sel.get("startPosition", "")), int(sel.get("endPosition", ""))
        except ValueError:
            continue
        label = (sel.get("name") or "").replace("\r\n", "\n").replace("\r", "\n")
        for m, which in ((raw_map, "raw"), (crlf1_map, "one")):
            s1, e1 = map_pos(m, s0, end=False), map_pos(m, e0, end=True)
            ok = s1 is not None and e1 is not None and s1 <= e1 <= len(text)
            good = ok and label_matches(text[s1:e1], label)
            pts = (2 if good else 0) + (1 if ok else -3)
            if which == "raw":
                score_raw += pts
            else:
                score_one += pts
    return crlf1_map if score_one > score_raw else raw_map


def label_matches(span: str, label: str) -> bool:
    """Whether a selection's name quotes its span (names are often cut short with "...")."""
    lab = " ".join(label.split())
    sp = " ".join(span.split())
    if not lab:
        return False
    for cut in ("...", "…"):
        if lab.endswith(cut) and len(lab) > len(cut) + 3:
            return sp.startswith(lab[: -len(cut)].rstrip())
    return sp == lab
