"""Rule-based behavioural cue detection with exact character spans.

Transcribers mark what happens between the words in a handful of conventions; this
module finds them in English, Spanish and French and returns :class:`Cue` objects whose
``start``/``end`` are offsets into the document text (``text[start:end]`` is exactly
the evidence).

Conventions recognised
----------------------
- **Bracketed notes** ``(laughs)``, ``[laughter]``, ``*sighs*``, ``<inaudible>``, read by
  vocabulary, so one note can carry several cues: "(laughter and comments from several
  voices at once)" is both ``laughter`` and ``crosstalk``. A note without a known word,
  such as "(violence)" inside a sentence, is not a cue.
- **Trailing ellipsis** ("…", "...") at the end of a line or turn: ``pause``. An ellipsis
  followed by more words on the same line is not a pause.
- **Cut-off turns**: a turn ending with a dash (``-``, ``--``, ``–``, ``—``) and followed
  by a different speaker: ``interruption``. Runs of three or more hyphens are redaction
  marks, not interruptions.
- **Fillers** ("um", "uh", "erm", "eh", "eee", "hmm", "mmm", Spanish "este…"/"este,",
  French "euh", "heu") and false
  starts ("we- we"): ``hesitation``. Word boundaries are strict: "uhuru", "umbrella",
  "uh-huh" (a back-channel) are not fillers.
- **Laugh tokens** ("haha", "jajaja"): ``laughter``. The bare word "laughs" in a sentence
  is not a cue.
- **Group-voice turns** (SEVERAL VOICES, ALL, VARIOS...): ``crosstalk`` over the turn.
- **Pattern files**: a team's own conventions as ``name``/``regex``/``code`` entries
  (see :func:`load_patterns`).

Cues of the same code where one lies inside another are reported once (the outer one).
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from qualcode.cues._speakers import is_group_label
from qualcode.errors import InputError
from qualcode.types import ParsedDocument, Turn

#: the built-in cue codes (pattern files may add their own)
CUE_TYPES = (
    "laughter",
    "pause",
    "crosstalk",
    "interruption",
    "hesitation",
    "inaudible",
    "crying",
    "sigh",
    "nonverbal",
    "overlap",
)


@dataclass(frozen=True)
class Cue:
    """One behavioural cue found in a document.

    ``start``/``end`` are character offsets into the document text and ``text`` is
    ``text[start:end]``. ``rule`` names the detector rule (or pattern) that found it.
    ``speaker`` and ``turn_index`` are set when the span lies inside a turn.
    ``duration_s`` is known for timed pauses and overlaps (and notes like "(pause 5 s)").
    """

    code: str
    start: int
    end: int
    text: str
    rule: str
    speaker: str | None = None
    turn_index: int | None = None
    duration_s: float | None = None
    score: float | None = None
    detail: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def evidence(self) -> dict[str, Any]:
        """What a coding stores as evidence: the matched text, the rule, and details."""
        ev: dict[str, Any] = {"quote": self.text, "rule": self.rule}
        if self.speaker is not None:
            ev["speaker"] = self.speaker
        if self.duration_s is not None:
            ev["duration_s"] = round(float(self.duration_s), 3)
        ev.update(dict(self.detail))
        return ev


# --------------------------------------------------------------------------- vocabulary
def _vocab(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


NOTE_VOCAB: dict[str, re.Pattern[str]] = {
    "laughter": _vocab(
        r"laugh\w*", r"chuckl\w*", r"giggl\w*", r"snicker\w*", r"(?:ha){2,}h?", r"(?:ja){2,}",
        r"risas?", r"r[íi]en?", r"se\s+r[íi]en?", r"riendo", r"ri[ée]ndose", r"carcajadas?",
        r"rires?", r"rit", r"rient", r"riant", r"rigol\w*", r"[ée]clats?\s+de\s+rire", r"fou\s+rire",
    ),
    "crosstalk": _vocab(
        r"cross-?\s?talk\w*", r"over-?\s?talk\w*",
        r"(?:several|multiple|many|various|two|three|all|overlapping|simultaneous)\s+(?:voices|people|participants|speakers|conversations)",
        r"(?:talk|speak)\w*\s+(?:at\s+once|simultaneously|at\s+the\s+same\s+time|over\s+each\s+other|together)",
        r"at\s+once", r"simultaneous\w*", r"overlapp?\w*",
        r"varias\s+voces", r"varios\s+(?:hablan|participantes)",
        r"(?:hablan|responden|contestan)\s+(?:tod[oa]s|a\s+la\s+vez|al\s+mismo\s+tiempo|simult[áa]neamente|encima)",
        r"tod[oa]s\s+(?:hablan|responden|contestan)", r"al\s+mismo\s+tiempo", r"a\s+la\s+vez",
        r"voces\s+superpuestas", r"superposici[óo]n", r"di[áa]logo\s+cruzado",
        r"paroles\s+simultan[ée]es", r"plusieurs\s+(?:voix|personnes|participant\w*)",
        r"(?:parlent|r[ée]pondent)\s+(?:toutes?|tous|ensemble|en\s+m[êe]me\s+temps|simultan[ée]ment)",
        r"(?:toutes?|tous)\s+(?:parlent|r[ée]pondent)", r"en\s+m[êe]me\s+temps", r"chevauchement\w*",
        r"brouhaha",
    ),
    "pause": _vocab(
        r"pause[sd]?", r"pausing", r"pausas?", r"silence", r"silent", r"silencio", r"long\s+silence",
        r"se\s+queda(?:n)?\s+callad[oa]s?", r"se\s+tai(?:t|sent)",
    ),
    "inaudible": _vocab(
        r"inaudible", r"unintelligible", r"unclear", r"indistinct", r"incomprehensible",
        r"not\s+(?:understandable|understood|audible|clear)", r"can'?t\s+(?:hear|understand)",
        r"cannot\s+(?:hear|understand)", r"hard\s+to\s+hear", r"ininteligible", r"incomprensible",
        r"inentendible", r"no\s+se\s+(?:entiende|escucha|oye)", r"no\s+audible", r"poco\s+claro",
        r"inintelligible", r"incompr[ée]hensible", r"indistinct\w*", r"on\s+n'?\s*(?:entend|comprend)\s+pas",
        r"pas\s+clair", r"peu\s+clair",
    ),
    "crying": _vocab(
        r"cry", r"cries", r"crying", r"sob\w*", r"tears?", r"tearful\w*", r"weep\w*", r"llor\w*",
        r"llanto", r"solloz\w*", r"voice\s+(?:breaks|breaking|cracks|cracking)",
        r"(?:se\s+le\s+)?quiebra\s+la\s+voz", r"voz\s+quebrada",
        r"pleur\w*", r"sanglot\w*", r"larmes?", r"voix\s+(?:bris[ée]e|qui\s+se\s+brise|tremblante)",
    ),
    "sigh": _vocab(r"sigh\w*", r"exhal\w*", r"suspir\w*", r"resopl\w*", r"breathes\s+out", r"soupir\w*"),
    "interruption": _vocab(
        r"interrupt\w*", r"cut\s+off", r"cuts\s+(?:in|off)", r"cutting\s+in", r"interrump\w*",
        r"interrupci[óo]n", r"interromp\w*", r"coupe\s+la\s+parole",
    ),
    "nonverbal": _vocab(
        r"cough\w*", r"clears?\s+(?:\w+\s+)?throat", r"throat[- ]clear\w*", r"applau\w*", r"clap\w*",
        r"nod(?:s|ded|ding)?", r"shak(?:es|ing)\s+(?:\w+\s+)?head", r"shrug\w*", r"gestur\w*", r"pointing",
        r"points\s+(?:at|to)", r"noises?", r"background", r"phones?", r"rings?", r"ringing", r"doors?",
        r"knock\w*", r"music", r"whisper\w*", r"shout\w*", r"yell\w*", r"yawn\w*", r"sneez\w*",
        r"snap\w*", r"smil\w*", r"grin(?:s|ning)?", r"groan\w*", r"gasp\w*", r"hum(?:s|ming)",
        r"typing", r"inhal\w*", r"breath\w*", r"sniff\w*", r"tos", r"tose", r"tosiendo", r"carraspe\w*",
        r"aplau\w*", r"asiente", r"asintiendo", r"niega", r"ruidos?", r"tel[ée]fono", r"celular",
        r"puerta", r"m[úu]sica", r"golpe\w*", r"gestos?", r"señala\w*", r"susurr\w*", r"grit(?:a|an|o|os|ando)",
        r"bostez\w*", r"sonr[íi]\w*", r"murmu\w*", r"respir\w*", r"silb\w*", r"tararea\w*",
        r"dogs?", r"bark\w*", r"airplane", r"aeroplane", r"plane", r"traffic", r"siren\w*", r"avi[óo]n",
        r"tousse\w*", r"toux", r"s[']?\s*[ée]claircit\s+la\s+gorge", r"applaudi\w*", r"hoche\w*\s+la\s+t[êe]te",
        r"acquiesce\w*", r"hausse\w*\s+les\s+[ée]paules", r"sonnerie\w*", r"t[ée]l[ée]phone", r"portable", r"porte",
        r"musique", r"chuchot\w*", r"cri(?:e|ent|s)", r"bruits?", r"frappe\w*", r"souri(?:t|ent|re|res)",
        r"chiens?", r"aboi\w*", r"klaxon\w*",
    ),
}
#: "crying" words with one of these describe a background event, not the speaker
_BACKGROUND_CRYING = _vocab(
    r"bab(?:y|ies)", r"child(?:ren)?", r"kids?", r"infants?", r"background", r"beb[ée]s?", r"niñ[oa]s?",
    r"guaguas?", r"wawas?", r"b[ée]b[ée]s?", r"enfants?",
)
_DURATION = re.compile(
    r"(\d+(?:[.,]\d+)?)\s*-?\s*(s|secs?|seconds?|secondes?|segundos?|seg|mins?|minutes?|minutos?)(?!\w)", re.IGNORECASE
)
_ONLY_DURATION = re.compile(r"^\s*(?:\d+(?:[.,]\d+)?)\s*-?\s*(?:s|secs?|seconds?|secondes?|segundos?|seg)\.?\s*$",
                            re.IGNORECASE)
_ONLY_QUESTION = re.compile(r"^\s*\?+\s*$")

# A note: (...), [...], *...*, <...> on one line. The bracket comes first as a character
# class so the regex engine can skip ahead to the (rare) brackets quickly.
NOTE_RE = re.compile(
    r"[(\[*<](?:"
    r"(?<=\()(?P<p>[^()\n]{1,150})\)"
    r"|(?<=\[)(?P<b>[^\[\]\n]{1,150})\]"
    r"|(?<=<)(?P<g>[^<>\n/=]{1,60})>"
    r"|(?<![\w*]\*)(?P<a>[^*\n]{1,60})\*(?![\w*])"
    r")"
)
_ELLIPSIS_RES = (re.compile(r"…[.…]*"), re.compile(r"\.\.\.[.…]*"))
_TRAIL_SKIP = " \t\"'”’»)]"
# Candidate words (a word made of filler/laugh letters) are found with one fast scan and
# checked in full afterwards; "word" boundaries exclude letters, digits, _ ' ’ and -.
_CANDIDATE_RE = re.compile(r"[uehmajlUEHMAJL](?<![\w'’\-].)[uehmrajlUEHMRAJL]*(?![\w'’\-])")
_FILLER_WORD = re.compile(r"u+m+|u+h+|e+r+m*|e+h+m*|e{3,}|e+m{2,}|h+m+|m{3,}|a+h+m+|e+u+h+|h+e+u+", re.IGNORECASE)
_LAUGH_WORD = re.compile(r"(?:ha){2,}h?|(?:ja){2,}|(?:he){2,}|(?:je){2,}|lol", re.IGNORECASE)
_ESTE_BEFORE = re.compile(r"(?<!\w)este\s*$", re.IGNORECASE)  # Spanish filler "este…"
_ESTE_COMMA = re.compile(r"(?<!\w)este(?=,)", re.IGNORECASE)  # and "este," ("entonces, este, como...")
_FALSE_START_RE = re.compile(r"[-–—](?<=\w.)[ \t]+(?=\w)")
_WORD_BEFORE = re.compile(r"(?<![\w\-])\w{1,15}$")
_WORD_AFTER = re.compile(r"\w+")
_NAIVE_LABEL_RE = re.compile(
    r"^[ \t]*(?:\[?\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?\]?[ \t]+)?"
    r"(?P<label>[^\W\d_][\w .'’()-]{0,40}?)[ \t]*:[ \t]*",
    re.MULTILINE,
)


# --------------------------------------------------------------------------- patterns
@dataclass(frozen=True)
class PatternRule:
    """A team convention: every match of ``regex`` is a cue with code ``code``.

    When the regex has a named group ``cue``, the span is that group's; otherwise the
    whole match. ``ignore_case`` defaults to true.
    """

    name: str
    regex: str
    code: str
    ignore_case: bool = True

    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.regex, re.IGNORECASE if self.ignore_case else 0)


_CODE_NAME_RE = re.compile(r"^[\w][\w.\-]*$")


def load_patterns(path: str | Path) -> tuple[PatternRule, ...]:
    """Read a pattern file (YAML or JSON) of team cue conventions.

    The file holds a list of entries, or a mapping with a ``patterns`` list. Each entry
    has ``name``, ``regex`` and ``code`` (and optionally ``ignore_case``)::

        patterns:
          - name: applause-es
            regex: '\\((?:aplausos|aplauden)\\)'
            code: nonverbal
          - name: long-pause-marker
            regex: '\\[\\.\\.\\.\\]'
            code: pause

    Raises
    ------
    InputError
        Naming the file, the entry and what was expected.
    """
    p = Path(path)
    try:
        raw_text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the pattern file: {exc.strerror or exc}", path=str(p)) from exc
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(raw_text)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc.msg}", path=str(p), line=exc.lineno) from exc
    else:
        import yaml

        try:
            data = yaml.safe_load(raw_text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            raise InputError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}", path=str(p), line=line) from exc
    if isinstance(data, Mapping):
        data = data.get("patterns")
    if not isinstance(data, list):
        raise InputError(
            "expected a list of patterns (or a mapping with a 'patterns' list), each with name, regex, code",
            path=str(p),
        )
    rules: list[PatternRule] = []
    for i, entry in enumerate(data, 1):
        where = f"pattern #{i}"
        if not isinstance(entry, Mapping):
            raise InputError(f"{where}: expected a mapping with name, regex, code; got {type(entry).__name__}", path=str(p))
        missing = [k for k in ("name", "regex", "code") if not isinstance(entry.get(k), str) or not entry.get(k)]
        if missing:
            raise InputError(f"{where}: missing or empty {', '.join(missing)} (each pattern needs name, regex, code)",
                             path=str(p))
        unknown = set(entry) - {"name", "regex", "code", "ignore_case", "description"}
        if unknown:
            raise InputError(f"{where} ({entry['name']}): unknown keys {sorted(unknown)}; allowed: name, regex, code, "
                             "ignore_case, description", path=str(p))
        code = str(entry["code"]).strip()
        if not _CODE_NAME_RE.match(code):
            raise InputError(f"{where} ({entry['name']}): code {code!r} must be one word (letters, digits, _ . -)",
                             path=str(p))
        rule = PatternRule(name=str(entry["name"]), regex=str(entry["regex"]), code=code,
                           ignore_case=bool(entry.get("ignore_case", True)))
        try:
            rule.compiled()
        except re.error as exc:
            raise InputError(f"{where} ({rule.name}): invalid regex {rule.regex!r}: {exc}", path=str(p)) from exc
        rules.append(rule)
    return tuple(rules)


# --------------------------------------------------------------------------- detector
def _classify_note(content: str) -> list[str]:
    codes = [code for code, rx in NOTE_VOCAB.items() if rx.search(content)]
    if "crying" in codes and _BACKGROUND_CRYING.search(content):
        codes.remove("crying")
        if "nonverbal" not in codes:
            codes.append("nonverbal")
    if "pause" not in codes and _ONLY_DURATION.match(content):
        codes.append("pause")
    if "inaudible" not in codes and _ONLY_QUESTION.match(content):
        codes.append("inaudible")
    return codes


def _duration_seconds(content: str) -> float | None:
    m = _DURATION.search(content)
    if not m:
        return None
    value = float(m.group(1).replace(",", "."))
    return value * 60.0 if m.group(2).lower().startswith("min") else value


def naive_turns(text: str) -> tuple[Turn, ...]:
    """Turns from ``Label: utterance`` lines, for texts that come without a reader's turns."""
    labels = list(_NAIVE_LABEL_RE.finditer(text))
    turns = []
    for i, m in enumerate(labels):
        start = m.end()
        end = labels[i + 1].start() if i + 1 < len(labels) else len(text)
        while end > start and text[end - 1].isspace():
            end -= 1
        turns.append(Turn(index=i, speaker=m.group("label").strip(), start=start, end=end,
                          raw_speaker=m.group("label"), label_start=m.start()))
    return tuple(turns)


class CueDetector:
    """Find behavioural cues in transcript text.

    Parameters
    ----------
    patterns : sequence of PatternRule, optional
        Team conventions, e.g. from :func:`load_patterns`. They run alongside the
        built-in rules.
    codes : iterable of str, optional
        Only report these codes (default: all built-in codes and pattern codes).
    trailing_ellipsis : bool, default True
        Report a trailing "…" as a ``pause``.
    fillers : bool, default True
        Report fillers and false starts as ``hesitation``.

    Examples
    --------
    >>> det = CueDetector()
    >>> [(c.code, c.text) for c in det.detect("A: well (laughs) I think… ")]
    [('laughter', '(laughs)'), ('pause', '…')]
    """

    def __init__(
        self,
        *,
        patterns: Sequence[PatternRule] = (),
        codes: Iterable[str] | None = None,
        trailing_ellipsis: bool = True,
        fillers: bool = True,
    ) -> None:
        self.patterns = tuple(patterns)
        self.codes = None if codes is None else tuple(codes)
        self.trailing_ellipsis = trailing_ellipsis
        self.fillers = fillers
        self._compiled = [(r, r.compiled()) for r in self.patterns]
        self._wanted = None if self.codes is None else frozenset(self.codes)

    # ------------------------------------------------------------------ public
    def detect_document(self, parsed: ParsedDocument) -> list[Cue]:
        """Cues in a reader's output (its text and turns)."""
        return self.detect(parsed.text, parsed.turns)

    def detect(self, text: str, turns: Sequence[Turn] | None = None) -> list[Cue]:
        """Cues in ``text``; ``turns`` (the reader's) give speakers and turn ends.

        Without turns, ``Label: utterance`` lines are used. Returns cues sorted by
        ``(start, end, code)``.
        """
        turns = tuple(turns) if turns else naive_turns(text)
        starts = [t.start for t in turns]

        def turn_at(pos: int) -> Turn | None:
            i = bisect_right(starts, pos) - 1
            if i >= 0 and pos <= turns[i].end:
                return turns[i]
            return None

        # raw cues: (start, end, code, rule, duration_s, detail)
        raw: list[_Raw] = []
        _note_cues(text, raw)
        self._ellipsis_cues(text, turn_at, raw)
        self._word_cues(text, raw)
        _turn_cues(text, turns, raw)
        for rule, rx in self._compiled:  # team patterns
            has_group = "cue" in rx.groupindex
            for m in rx.finditer(text):
                s, e = m.span("cue") if has_group else m.span()
                if s >= 0 and e > s:
                    raw.append((s, e, rule.code, f"pattern:{rule.name}", None, None))
        if self._wanted is not None:
            raw = [r for r in raw if r[2] in self._wanted]
        out = []
        for s, e, code, rule, dur, detail in _drop_contained(raw):
            t = turn_at(s)
            if t is not None and (e <= max(t.end, s) or rule == "group_voice_turn"):
                spk, ti = t.speaker, t.index
            else:
                spk, ti = None, None
            out.append(Cue(code, s, e, text[s:e], rule, spk, ti, dur, None, detail or {}))
        return out

    def _ellipsis_cues(self, text: str, turn_at, raw: list[_Raw]) -> None:
        """Trailing ellipses are pauses; "este…" is a Spanish filler."""
        n = len(text)
        for rx in _ELLIPSIS_RES:
            for m in rx.finditer(text):
                if self.fillers:
                    b = _ESTE_BEFORE.search(text, max(0, m.start() - 8), m.start())
                    if b:
                        raw.append((b.start(), b.start() + 4, "hesitation", "filler", None, None))
                if not self.trailing_ellipsis:
                    continue
                pos = m.end()
                while pos < n and text[pos] in _TRAIL_SKIP:
                    pos += 1
                trailing = pos >= n or text[pos] == "\n"
                if not trailing:
                    t = turn_at(m.start())
                    trailing = t is not None and pos >= t.end
                if trailing:
                    raw.append((m.start(), m.end(), "pause", "trailing_ellipsis", None, None))

    def _word_cues(self, text: str, raw: list[_Raw]) -> None:
        """Fillers and laugh tokens (one scan for candidate words), "este," and false starts."""
        for m in _CANDIDATE_RE.finditer(text):
            word = m.group(0)
            if _LAUGH_WORD.fullmatch(word):
                raw.append((m.start(), m.end(), "laughter", "laugh_token", None, None))
            elif self.fillers and _FILLER_WORD.fullmatch(word) and word not in ("ER", "Er"):
                raw.append((m.start(), m.end(), "hesitation", "filler", None, None))
        if not self.fillers:
            return
        for m in _ESTE_COMMA.finditer(text):
            raw.append((m.start(), m.end(), "hesitation", "filler", None, None))
        for m in _FALSE_START_RE.finditer(text):
            before = _WORD_BEFORE.search(text, max(0, m.start() - 16), m.start())
            after = _WORD_AFTER.match(text, m.end())
            if before and after and before.group(0).casefold() == after.group(0).casefold():
                raw.append((before.start(), after.end(), "hesitation", "false_start", None, None))


_Raw = tuple[int, int, str, str, "float | None", "dict[str, Any] | None"]


def _note_cues(text: str, raw: list[_Raw]) -> None:
    """Bracketed notes, read by vocabulary (one note may carry several codes)."""
    for m in NOTE_RE.finditer(text):
        content = m.group("p") or m.group("b") or m.group("a") or m.group("g") or ""
        for code in _classify_note(content):
            dur = _duration_seconds(content) if code == "pause" else None
            raw.append((m.start(), m.end(), code, "note", dur, None))


def _turn_cues(text: str, turns: Sequence[Turn], raw: list[_Raw]) -> None:
    """Turn structure: group-voice turns are crosstalk; a turn cut off by a dash before
    another speaker is an interruption."""
    group: dict[str | None, bool] = {}
    for i, t in enumerate(turns):
        g = group.get(t.speaker)
        if g is None:
            g = group[t.speaker] = is_group_label(t.speaker)
        if g:
            s, e = (t.start, t.end) if t.end > t.start else (t.label_start or t.start, t.end)
            if e > s:
                raw.append((s, e, "crosstalk", "group_voice_turn", None, {"group_label": t.raw_speaker or t.speaker}))
        if i + 1 < len(turns) and t.end > t.start:
            nxt = turns[i + 1]
            if t.speaker and nxt.speaker and t.speaker != nxt.speaker:
                e = t.end
                while e > t.start and text[e - 1] in " \t":
                    e -= 1
                s = e
                while s > t.start and text[s - 1] in "-–—":
                    s -= 1
                if text[s:e] in ("-", "--", "–", "—"):
                    raw.append((s, e, "interruption", "cut_off_turn", None, {"interrupted": t.speaker, "by": nxt.speaker}))


def _drop_contained(raw: list[tuple]) -> list[tuple]:
    """Sort raw cues and drop one lying inside another of the same code."""
    raw.sort(key=lambda r: (r[0], -r[1], r[2]))
    max_end: dict[str, int] = {}
    out = []
    for r in raw:
        if r[1] <= max_end.get(r[2], -1):
            continue
        max_end[r[2]] = r[1]
        out.append(r)
    out.sort(key=lambda r: (r[0], r[1], r[2]))
    return out


def detect_cues(
    source: str | ParsedDocument,
    turns: Sequence[Turn] | None = None,
    *,
    patterns: Sequence[PatternRule] = (),
    codes: Iterable[str] | None = None,
) -> list[Cue]:
    """Cues in a text or a reader's :class:`~qualcode.types.ParsedDocument`.

    A convenience wrapper around :class:`CueDetector`; build one detector and reuse it
    for many documents.

    Examples
    --------
    >>> [c.code for c in detect_cues("MODERATOR: (laughter and comments from several voices at once)")]
    ['crosstalk', 'laughter']
    """
    det = CueDetector(patterns=patterns, codes=codes)
    if isinstance(source, ParsedDocument):
        return det.detect(source.text, turns if turns is not None else source.turns)
    return det.detect(source, turns)
