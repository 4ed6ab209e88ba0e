"""The translated example transcripts stay aligned with the originals, turn by turn.

The translation-invariance benchmark (benchmarks/bench_translation.py) compares the codes
of original segment i with those of translated segment i, so each translation must segment
into the same turns: same number per document, same order, same speakers (role labels
translated, names kept), same timestamps, same moderators, and the same transcriber notes
("(laughs)", "[inaudible]"...) in each turn.
"""

from __future__ import annotations

import re

import pytest

from qualcode.codebook import load_codebook
from qualcode.corpus import ingest_files
from qualcode.demo import EXAMPLE_FILES, EXAMPLE_TRANSLATIONS, examples_dir
from qualcode.project import init_project
from qualcode.speakers import moderator_names

# translated role label -> original role label; names and other labels must be unchanged
ROLE_LABELS = {
    "es": {"MODERADORA": "MODERATOR", "PARTICIPANTE": "PARTICIPANT", "VARIAS VOCES": "SEVERAL VOICES",
           "FACILITADORA": "FACILITATOR", "Facilitador": "Facilitator", "PROMOTORA": "CHW"},
    "fr": {"PARTICIPANTE": "PARTICIPANT", "PLUSIEURS VOIX": "SEVERAL VOICES",
           "ANIMATRICE": "FACILITATOR", "Animateur": "Facilitator", "ASC": "CHW"},
}


_NOTE = re.compile(r"[(\[][^()\[\]\n]{1,150}[)\]]")


def _original_label(label: str, lang: str) -> str:
    m = re.fullmatch(r"(.*?)(\s+\d+)?", label)
    head, num = m.group(1), m.group(2) or ""
    return ROLE_LABELS[lang].get(head, head) + num


def _segments(tmp_path, name, folder):
    project = init_project(tmp_path / name)
    try:
        ingest_files(project, [folder / f for f in EXAMPLE_FILES], strategy="turn")
        store = project.store
        docs = {d.name: d for d in store.documents()}
        mods = moderator_names(store)
        out = {}
        for f in EXAMPLE_FILES:
            d = docs[f]
            out[f] = ([(s.speakers, s.time_start, s.time_end, len(_NOTE.findall(s.text)))
                       for s in store.segments(document_ids=[d.id])],
                      mods[d.id])
        return out
    finally:
        project.close()


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    return _segments(tmp_path_factory.mktemp("orig"), "p", examples_dir())


@pytest.mark.parametrize("lang", EXAMPLE_TRANSLATIONS)
def test_translation_segments_into_the_same_turns(tmp_path, originals, lang):
    translated = _segments(tmp_path, lang, examples_dir(lang))
    for f in EXAMPLE_FILES:
        orig_segs, orig_mods = originals[f]
        tr_segs, tr_mods = translated[f]
        assert len(tr_segs) == len(orig_segs), f"{lang}/{f}: {len(tr_segs)} segments, original has {len(orig_segs)}"
        for i, ((osp, ots, ote, onotes), (tsp, tts, tte, tnotes)) in enumerate(zip(orig_segs, tr_segs)):
            mapped = tuple(_original_label(s, lang) for s in tsp)
            assert mapped == osp, f"{lang}/{f} segment {i}: speakers {tsp}, original {osp}"
            assert (tts, tte) == (ots, ote), f"{lang}/{f} segment {i}: times differ"
            assert tnotes == onotes, f"{lang}/{f} segment {i}: {tnotes} transcriber notes, original has {onotes}"
        assert {_original_label(s, lang) for s in tr_mods} == orig_mods, f"{lang}/{f}: moderators differ"


@pytest.mark.parametrize("lang", EXAMPLE_TRANSLATIONS)
def test_translated_codebook_has_the_same_codes_in_order(lang):
    original = load_codebook(examples_dir() / "codebook.yaml")
    translated = load_codebook(examples_dir(lang) / "codebook.yaml")
    assert len(translated.codes) == len(original.codes)
    names = [c.name for c in translated.codes]
    assert len(set(names)) == len(names)
    for o, t in zip(original.codes, translated.codes):
        assert t.name != o.name, f"{lang}: code {o.name!r} left untranslated"
        assert len(t.examples) == len(o.examples) and t.include and t.exclude and t.definition
        # cross-references ("use X") name codes of the translated codebook
        for other_o, other_t in zip(original.codes, translated.codes):
            if other_o.name in o.exclude:
                assert other_t.name in t.exclude, f"{lang}: {t.name!r} exclude should point to {other_t.name!r}"
