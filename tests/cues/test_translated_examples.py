"""The bundled French and Spanish translations of the example transcripts: their
moderators are recognised by name and their cues found as in the English originals."""

import collections

import pytest

from qualcode.cues import detect_cues
from qualcode.cues._speakers import MODERATOR, speaker_role
from qualcode.demo import EXAMPLE_FILES, examples_dir
from qualcode.ingest import infer_moderators, read_file
from qualcode.types import ParsedDocument, Turn


def _counts(lang, name):
    doc = read_file((examples_dir() / lang / name) if lang else examples_dir() / name)[0]
    return doc, collections.Counter(c.code for c in detect_cues(doc))


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_french_cues_are_found_as_in_english(name):
    _, en = _counts("", name)
    _, fr = _counts("fr", name)
    assert fr == en  # (rit), [rires], (soupire), [paroles simultanées], PLUSIEURS VOIX, euh...
    assert en["laughter"] > 0


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_spanish_cues_are_found_as_in_english(name):
    _, en = _counts("", name)
    _, es = _counts("es", name)
    for code in ("laughter", "crosstalk", "pause", "sigh", "inaudible", "interruption", "nonverbal"):
        assert es[code] == en[code], code
    # fillers differ by translation ("eh", "este,"), but are read
    assert es["hesitation"] >= 0.7 * en["hesitation"]


def test_french_and_spanish_moderator_names():
    for label in ("MODÉRATRICE", "Modérateur", "moderatrice", "ANIMATRICE", "Animateur 2", "Enquêteur",
                  "intervieweuse", "ENCUESTADORA", "Moderadora", "co-modératrice"):
        assert speaker_role(label) == MODERATOR, label
    # facilitators are often the people interviewed, in any language; group labels are groups
    assert speaker_role("FACILITATEUR") != MODERATOR
    assert speaker_role("PLUSIEURS VOIX") == "group" and speaker_role("TOUT LE MONDE") == "group"


def test_the_french_moderator_is_recognised_by_name_not_by_questions():
    doc, _ = _counts("fr", "focus_group_chws.txt")
    assert infer_moderators(doc) == ["ANIMATRICE"]
    # where a participant asks more questions, the name still decides
    text = "ANIMATRICE: Bonjour.\nASC 1: Pourquoi ? Comment ?\nASC 1: Et ça ?\n"
    turns = (Turn(0, "ANIMATRICE", 12, 20), Turn(1, "ASC 1", 28, 47), Turn(2, "ASC 1", 55, 61))
    assert infer_moderators(ParsedDocument(text, "txt", turns=turns)) == ["ANIMATRICE"]
