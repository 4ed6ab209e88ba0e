"""Speaker labels and timestamps: what looks like a name, and one canonical name per speaker."""

from __future__ import annotations

import re
import unicodedata

# h:mm:ss, mm:ss or m:ss, optionally with milliseconds
TS = r"(?:\d{1,2}:)?\d{1,2}:[0-5]\d(?:[.,]\d{1,3})?"
_TS_RE = re.compile(r"(?:(\d{1,2}):)?(\d{1,2}):([0-5]\d)(?:[.,](\d{1,3}))?")

MAX_LABEL_CHARS = 40
MAX_LABEL_WORDS = 4

# Words that make a "label" read as a sentence ("The reason was: money").
_FUNCTION_WORDS = frozenset(
    """
    a an the and or but nor so if then than that this these those there here
    is are was were be been being am do does did done have has had will would can could
    should shall may might must i i'm we you he she it they me us him her them my our your
    his its their mine ours what which who whom whose when where why how not no yes to of
    in on at by for with from about as into onto over under after before like just also
    very because said says say asked told tell well ok okay um uh oh let let's all some
    any every each both either neither more most much many such only even still again
    que el los las un una unos unas y o pero porque es son fue era con por para sin
    """.split()
)
# Lower-case words allowed inside names ("María de la Cruz", "Ludwig van Beethoven").
_PARTICLES = frozenset("de del la las los da das do dos di du van von der den ten ter le y bin ibn al el e".split())
# Lower-case labels are accepted only when they name a role ("interviewer:", "speaker 2:").
_ROLE_WORDS = frozenset(
    """
    interviewer interviewee moderator facilitator participant respondent speaker host guest
    int mod resp part p q r i
    entrevistador entrevistadora entrevistado entrevistada moderador moderadora participante
    facilitador facilitadora
    """.split()
)
#: A speaker label that names the moderator's role, in the languages qualcode reads:
#: moderator/interviewer/host, Spanish moderador/a, entrevistador/a, encuestador/a,
#: anfitrión/a, French modérateur/modératrice, animateur/animatrice, intervieweur/euse,
#: enquêteur/enquêtrice (accented or not), and the bare I/INT/MOD/Q interview labels.
#: "Facilitator" (facilitador/a, facilitateur/trice) is deliberately not one: in many
#: programme evaluations the facilitators are the people interviewed. The one copy of
#: this rule (ingest's moderator inference and the cue speakers' roles use it).
MODERATOR_NAME_RE = re.compile(
    r"\b(?:co[- ]?)?(?:moderator|moderadora?|interviewer|entrevistadora?|encuestadora?|host|anfitri[oó]na?"
    r"|mod[ée]rat(?:eur|rice)|animat(?:eur|rice)|intervieweu(?:r|se)|enqu[êe]t(?:eur|rice))\b"
    r"|^(?:i|int|mod|q)\s*\d*$",
    re.IGNORECASE,
)
# Labels (ignoring trailing numbers) that head metadata lines, not speech.
_NOT_SPEAKERS = frozenset(
    """
    note notes nb ps p.s date time day days location place venue duration length subject topic
    title re reason summary source sources warning caution tip update edit edited step total
    result results conclusion translation translated transcript transcription transcriber
    transcribed recording recorded audio video file filename project study session group site
    language languages country city attendees participants present absent agenda objective
    objectives purpose background context example examples email e-mail phone tel web website
    url address keywords tags category page version draft status remarks comment comments
    observation observations instructions
    """.split()
)
_BAD_CHARS = re.compile(r"[,;!?\"“”«»…()\[\]{}<>=+*|\\/@%$^~`:]")
_ABBREV_TOKEN = re.compile(r"(?:[^\W\d_]{1,4}\.)+[^\W\d_]{0,12}", re.UNICODE)  # Dr. / J. / Sra. / Ph.D.
_DIGITISH = re.compile(r"#?\d+[a-z]?|[A-Z]{1,3}\d+", re.UNICODE)  # 1, #3, 2b, P3


def parse_timestamp(ts: str) -> float:
    """``"1:02:03.5"`` → 3723.5 seconds; ``"0:45"`` → 45.0.

    >>> parse_timestamp("00:01:23"), parse_timestamp("1:02"), parse_timestamp("00:00:01,250")
    (83.0, 62.0, 1.25)
    """
    m = _TS_RE.fullmatch(ts.strip().strip("[]()").strip())
    if m is None:
        raise ValueError(f"not a timestamp: {ts!r}")
    h, mnt, s, frac = m.groups()
    seconds = int(h or 0) * 3600 + int(mnt) * 60 + int(s)
    if frac:
        seconds += int(frac) / (10 ** len(frac))
    return float(seconds)


def speaker_key(label: str) -> str:
    """The identity of a speaker label: accents, case, spacing and decoration ignored.

    >>> speaker_key("MODERATOR") == speaker_key(" Moderator ") == speaker_key("moderator.")
    True
    >>> speaker_key("NICOLÁS") == speaker_key("Nicolas")
    True
    """
    s = unicodedata.normalize("NFKD", label)
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = s.strip().strip("*_").strip().rstrip(".").strip()
    return re.sub(r"\s+", " ", s).casefold()


def looks_like_speaker(label: str, *, lenient: bool = False) -> bool:
    """Whether ``label`` (the text before a colon at line start) reads as a speaker name.

    A name is at most 4 words and 40 characters, starts with a capital letter (or is a
    role word such as ``interviewer``), has no sentence punctuation, no function words
    (``the``, ``was``, ``at``...) and at most one lower-case word (``Female voice``).
    Metadata headers (``Note``, ``Date``, ``Location``...) are not speakers. A single
    capital letter (``Q``, ``A``, ``I``, ``R``) is.

    ``lenient`` (caption cue text, where a leading ``Name:`` is almost always a speaker)
    also allows lower-case user names, dots and up to 5 words.

    >>> [looks_like_speaker(s) for s in ("FACILITATOR 3", "Several voices", "Dr. Smith", "Q")]
    [True, True, True, True]
    >>> [looks_like_speaker(s) for s in ("The reason was", "at 10", "Note", "so I said")]
    [False, False, False, False]
    """
    s = label.strip()
    if not s or len(s) > MAX_LABEL_CHARS + (20 if lenient else 0):
        return False
    if not (s[0].isalpha()):
        return False
    bad = _BAD_CHARS.search(s)
    if bad and not (lenient and bad.group() in "()@"):
        return False
    words = s.split()
    if len(words) > MAX_LABEL_WORDS + (1 if lenient else 0):
        return False
    if lenient:
        low = [w.casefold() for w in words]
        if " ".join(low) in _NOT_SPEAKERS:
            return False
        return not any(w in _FUNCTION_WORDS for w in low[1:]) and (
            len(words) == 1 or low[0] not in _FUNCTION_WORDS
        )
    # one capital letter (optionally numbered): Q, A, I, R, P3
    if len(words) == 1 and re.fullmatch(r"[A-Z]\d{0,3}", s):
        return True
    for w in words:
        if "." in w and not _ABBREV_TOKEN.fullmatch(w):
            return False
    low = [w.casefold().rstrip(".") for w in words]
    core = [w for w, orig in zip(low, words) if not _DIGITISH.fullmatch(orig)]
    if not core:  # "P12", "FG1"
        return s[0].isupper()
    if " ".join(core) in _NOT_SPEAKERS:
        return False
    lowercase_words = 0
    for i, (w, orig) in enumerate(zip(low, words)):
        if _DIGITISH.fullmatch(orig):
            continue
        if w in _FUNCTION_WORDS and not (i > 0 and w in _PARTICLES):
            return False
        if not orig[0].isupper():
            if i == 0 and w not in _ROLE_WORDS:
                return False
            if not (i > 0 and w in _PARTICLES):
                lowercase_words += 1
    return lowercase_words <= 1


class SpeakerNames:
    """Canonical names: the first-seen spelling of each :func:`speaker_key`."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}

    def canonical(self, raw: str) -> str:
        raw = re.sub(r"\s+", " ", raw.strip())
        return self._names.setdefault(speaker_key(raw), raw)

    def names(self) -> list[str]:
        """Canonical names in first-seen order."""
        return list(self._names.values())
