"""Speaker roles from speaker labels: moderator, participant, group voice, unidentified.

Inference is by name only. Moderators are labels naming the role
(:data:`qualcode.ingest._labels.MODERATOR_NAME_RE`: moderator, interviewer, host,
entrevistador/a, moderador/a, modérateur/modératrice, animateur/animatrice..., and the bare
``I``/``INT``/``MOD`` interview conventions). "Facilitator" is deliberately *not* a moderator word: in many
programme evaluations the facilitators are the people being interviewed. A configured
list (settings ``[segmentation] moderators``) replaces inference entirely.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable

from qualcode.ingest._labels import MODERATOR_NAME_RE

MODERATOR = "moderator"
PARTICIPANT = "participant"
GROUP = "group"  # several voices at once: not a person
UNIDENTIFIED = "unidentified"  # one person whose identity is unknown (e.g. FEMALE VOICE)
ROLES = (MODERATOR, PARTICIPANT, GROUP, UNIDENTIFIED)


_GROUP_RE = re.compile(
    r"^(?:"
    r"(?:several|multiple|many|various|some|other|all|two|three)\s+(?:voices|speakers|participants|people|women|men)"
    r"|all|all participants|everyone|everybody|group|the group|voices|crosstalk|cross-talk|participants|unison|chorus"
    r"|varios|varias|varias\s+voces|varios\s+participantes|varias\s+participantes|todos|todas"
    r"|todos\s+los\s+participantes|todas\s+las\s+participantes|grupo|el\s+grupo|voces|(?:las|los)\s+participantes"
    r"|plusieurs\s+(?:voix|personnes|participant(?:e|s|es)?)|(?:toutes|tous)(?:\s+les\s+participant(?:e|s|es)?)?"
    r"|tout\s+le\s+monde|le\s+groupe|groupe|(?:les\s+)?participant(?:e)?s"
    r")$",
    re.IGNORECASE,
)

_UNIDENTIFIED_RE = re.compile(
    r"^(?:"
    r"(?:female|male|woman|man|unknown|unidentified|another|other|new)\s+(?:voice|speaker|participant|person)"
    r"|voice|unknown|unidentified|unknown\s+speaker|speaker\s*\?|participant\s*\?|\?+|inaudible\s+speaker"
    r"|voz|voz\s+(?:femenina|masculina|de\s+mujer|de\s+hombre|desconocida)|mujer|hombre"
    r"|(?:participante|hablante|persona)\s+(?:desconocid[oa]|no\s+identificad[oa])|desconocid[oa]"
    r"|voix\s+(?:f[ée]minine|masculine|de\s+femme|d'homme|inconnue)|femme|homme|inconnu(?:e)?"
    r"|(?:participant(?:e)?|intervenant(?:e)?|personne)\s+(?:inconnu(?:e)?|non\s+identifi[ée](?:e)?)"
    r")$",
    re.IGNORECASE,
)


def normalise_label(name: str) -> str:
    """Casefolded, accent-kept, single-spaced label without trailing punctuation."""
    s = unicodedata.normalize("NFC", name).strip().strip(":.").strip()
    return re.sub(r"\s+", " ", s).casefold()


def is_group_label(name: str | None) -> bool:
    """True for labels that name several people at once (SEVERAL VOICES, ALL, VARIOS)."""
    return bool(name) and _GROUP_RE.match(normalise_label(name)) is not None


def is_unidentified_label(name: str | None) -> bool:
    """True for labels naming one unidentified person (FEMALE VOICE, UNKNOWN, VOZ)."""
    return bool(name) and _UNIDENTIFIED_RE.match(normalise_label(name)) is not None


def speaker_role(name: str | None, moderators: Iterable[str] | None = None) -> str | None:
    """The role of a speaker label.

    Parameters
    ----------
    name : str or None
        The canonical speaker label. ``None`` (unlabelled text) has no role.
    moderators : iterable of str, optional
        Configured moderator names (case-insensitive). When given and non-empty they
        replace name-based inference for moderators.

    Returns
    -------
    str or None
        One of ``"moderator"``, ``"participant"``, ``"group"``, ``"unidentified"``.

    Examples
    --------
    >>> speaker_role("INTERVIEWER 2"), speaker_role("FACILITATOR 1"), speaker_role("SEVERAL VOICES")
    ('moderator', 'participant', 'group')
    """
    if not name:
        return None
    if is_group_label(name):
        return GROUP
    mods = {normalise_label(m) for m in (moderators or ()) if str(m).strip()}
    if mods:
        if normalise_label(name) in mods:
            return MODERATOR
    elif MODERATOR_NAME_RE.search(normalise_label(name)):
        return MODERATOR
    if is_unidentified_label(name):
        return UNIDENTIFIED
    return PARTICIPANT
