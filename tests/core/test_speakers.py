from qualcode.ingest import parse_transcript, read_file
from qualcode.speakers import document_moderators


def test_real_transcript_moderators_exclude_facilitators(shared_data):
    parsed = read_file(shared_data / "ipa-focus-group" / "sample_english.md")[0]
    mods = document_moderators(parsed)
    assert mods == {"MODERATOR", "INTERVIEWER 2"}


def test_configured_moderator_wins_and_question_asker_is_inferred():
    doc = parse_transcript("FACILITATOR: What helps you?\nANA: The nurse.\nFACILITATOR: And what hinders?\nBEN: Cost.\n")
    assert document_moderators(doc) == {"FACILITATOR"}
    assert document_moderators(doc, ["ana"]) == {"ANA"}
    assert document_moderators(doc, ["nobody"]) == {"FACILITATOR"}
