"""REFI-QDA import: round trip, lenient reading of other programs' files, hostile files."""

from __future__ import annotations

import uuid
import zipfile
from pathlib import Path

import pytest

from qualcode.errors import InputError
from qualcode.project import init_project
from qualcode.exchange import refi_qda as qdpx
from qualcode.exchange.refi_qda import export_qdpx, import_qdpx


def _key(rows):
    return sorted((c["document"], c["start"], c["end"], c["code"], c["coder"]) for c in rows)


def test_export_then_import_gives_back_the_same_codings(small_project, tmp_path):
    src = small_project["project"].store
    out = tmp_path / "p.qdpx"
    export_qdpx(src, out)
    with init_project(tmp_path / "new") as dst:
        res = import_qdpx(dst, out)
        assert sorted(res.documents) == sorted(d.name for d in src.documents())
        assert _key(dst.store.codings(coder="alice")) == _key(src.codings(coder="alice"))
        assert all(c["status"] == "accepted" and c["run_id"] is None for c in dst.store.codings(coder="alice"))
        # imported codings sit on the segment they overlap most
        assert all(c["segment_id"] is not None for c in dst.store.codings(coder="alice"))
        # documents: same text, metadata back from the variables
        for d in src.documents():
            d2 = dst.store.document(d.name)
            assert d2.text == d.text
            assert d2.metadata["site"] == d.metadata["site"]
        assert dst.store.counts()["segments"] > 0
        # codebook with hierarchy and colours
        cb = dst.store.codebook(dst.store.codebooks()[-1]["id"])
        by = {c.name: c for c in cb.codes}
        assert by["Distance"].parent == "Access" and by["Cost"].color == "#e15759"
        assert by["Cost"].definition == "Money, prices or fees as a barrier."
        assert by["Cost"].examples == ("the fee was too high",)
        assert by["Access"].include == "transport, opening hours"
        # machine codings are not turned into a person's codes unless asked
        assert not [c for c in dst.store.codings() if c["coder"].startswith("qualcode:")]
        assert any("qualcode runs" in w for w in res.warnings)
        # importing again adds nothing
        n = dst.store.counts()["codings"]
        again = import_qdpx(dst, out)
        assert again.codings == 0 and again.skipped_duplicates == res.codings
        assert dst.store.counts()["codings"] == n


def test_human_codes_flow_back_into_the_same_project(small_project, tmp_path):
    """Export, code elsewhere (here: the same file), import into the original project:
    documents are recognised as unchanged and codings are not duplicated."""
    store = small_project["project"].store
    out = tmp_path / "p.qdpx"
    export_qdpx(store, out)
    n_docs = store.counts()["document_versions"]
    res = import_qdpx(small_project["project"], out)
    assert sorted(res.unchanged) == sorted(d.name for d in store.documents())
    assert store.counts()["document_versions"] == n_docs
    assert res.codings == 0 and res.skipped_duplicates > 0


def test_machine_codings_on_request(small_project, tmp_path):
    out = tmp_path / "p.qdpx"
    export_qdpx(small_project["project"].store, out)
    with init_project(tmp_path / "new") as dst:
        import_qdpx(dst, out, machine_codings=True)
        coders = {c["coder"] for c in dst.store.codings()}
        assert f"qualcode:{small_project['code_run']}" in coders


def test_import_result_carries_its_run(small_project, tmp_path):
    """The step contract: the result names the ``import-qdpx`` run it recorded, and
    ``to_dict`` (``ingest FILE.qdpx --json``) is the old dict plus that run."""
    out = tmp_path / "p.qdpx"
    export_qdpx(small_project["project"].store, out)
    with init_project(tmp_path / "new") as dst:
        res = import_qdpx(dst, out)
        run = dst.store.run(res.run_id)
        assert run.step == "import-qdpx" and res.summary["codings"] == res.codings > 0
        d = res.to_dict()
        assert d.pop("run") == res.run_id and d == res.as_dict()


# --------------------------------------------------------------------------- other programs' files
def g() -> str:
    return str(uuid.uuid4())


def make_qdpx(path: Path, *, text: str, selections, folder: str = "sources", ns: str = qdpx.NS,
              newline_bytes: bytes | None = None, inline: bool = False, code_parent: bool = True,
              extra_entries: dict | None = None, plain_path: str | None = None, braces: bool = False) -> Path:
    """A hand-written project like other QDA programs write."""
    sg, cg1, cg2, ug = g(), g(), g(), g()
    wrap = (lambda x: "{" + x + "}") if braces else (lambda x: x)
    sels = "".join(
        f'<PlainTextSelection guid="{wrap(g())}" name="{name}" startPosition="{s}" endPosition="{e}" '
        f'creatingUser="{wrap(ug)}"><Coding guid="{wrap(g())}" creatingUser="{wrap(ug)}">'
        f'<CodeRef targetGUID="{wrap(cg2 if code == "Child" else cg1)}"/></Coding></PlainTextSelection>'
        for s, e, code, name in selections)
    child = f'<Code guid="{wrap(cg2)}" name="Child" isCodable="true" color="#00FF00"/>'
    codes = (f'<Code guid="{wrap(cg1)}" name="Parent" isCodable="true" color="#FF0000"><Description>Top code</Description>'
             f'{child if code_parent else ""}</Code>{"" if code_parent else child}')
    fname = f"{sg}.txt"
    if inline:
        from xml.sax.saxutils import escape

        src = f'<TextSource guid="{wrap(sg)}" name="Interview 1"><PlainTextContent>{escape(text)}</PlainTextContent>{sels}</TextSource>'
    else:
        src = (f'<TextSource guid="{wrap(sg)}" name="Interview 1" plainTextPath="{plain_path or "internal://" + fname}">'
               f"{sels}</TextSource>")
    xml = (f'<?xml version="1.0" encoding="utf-8"?><Project xmlns="{ns}" name="Other tool">'
           f'<Users><User guid="{wrap(ug)}" name="Maria"/></Users><CodeBook><Codes>{codes}</Codes></CodeBook>'
           f"<Sources>{src}</Sources></Project>")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.qde", xml.encode("utf-8"))
        if not inline:
            data = text.encode("utf-8")
            if newline_bytes is not None:
                data = data.replace(b"\n", newline_bytes)
            zf.writestr(f"{folder}/{fname}", data)
        for k, v in (extra_entries or {}).items():
            zf.writestr(k, v)
    return path


TEXT = ("Interviewer: How do you get to the clinic?\nMaria: By bus, it takes two hours.\n"
        "Interviewer: And the cost?\nMaria: Too much — 😀 money.\n")


def _span(text: str, quote: str) -> tuple[int, int]:
    i = text.index(quote)
    return i, i + len(quote)


@pytest.mark.parametrize("folder", ["Sources", "sources"])
def test_sources_folder_any_case_and_braced_guids(tmp_path, folder):
    s, e = _span(TEXT, "By bus, it takes two hours.")
    p = make_qdpx(tmp_path / "o.qdpx", text=TEXT, selections=[(s, e, "Child", "By bus")], folder=folder, braces=True)
    with init_project(tmp_path / "p") as project:
        res = import_qdpx(project, p)
        cods = project.store.codings(coder="Maria")
        assert res.codings == 1 and cods[0]["text"] == "By bus, it takes two hours." and cods[0]["code"] == "Child"
        cb = project.store.codebook(project.store.codebooks()[-1]["id"])
        assert {c.name: c.parent for c in cb.codes} == {"Parent": None, "Child": "Parent"}
        assert cb.get("Parent").color == "#FF0000" and cb.get("Parent").definition == "Top code"


@pytest.mark.parametrize("count_crlf_as", [2, 1])
def test_crlf_positions_counted_either_way(tmp_path, count_crlf_as):
    quotes = ["Too much — 😀 money.", "And the cost?", "By bus, it takes two hours."]
    sels = []
    for q in quotes:
        s, e = _span(TEXT, q)
        if count_crlf_as == 2:  # positions in the CRLF file: one extra per preceding newline
            s, e = s + TEXT[:s].count("\n"), e + TEXT[:e].count("\n")
        sels.append((s, e, "Parent", q))
    p = make_qdpx(tmp_path / "o.qdpx", text=TEXT, selections=sels, newline_bytes=b"\r\n")
    with init_project(tmp_path / "p") as project:
        import_qdpx(project, p)
        assert project.store.document("Interview 1").text == TEXT  # stored with \n line endings
        got = sorted(c["text"] for c in project.store.codings(coder="Maria"))
        assert got == sorted(quotes)


def test_inline_text_older_namespace_and_flat_codes(tmp_path):
    s, e = _span(TEXT, "Maria: By bus")
    p = make_qdpx(tmp_path / "o.qdpx", text=TEXT, selections=[(s, e, "Child", "")], inline=True,
                  ns="urn:QDA-XML:project:0.9", code_parent=False)
    with init_project(tmp_path / "p") as project:
        res = import_qdpx(project, p)
        assert res.codings == 1
        assert project.store.codings(coder="Maria")[0]["text"] == "Maria: By bus"


def test_bad_selections_are_skipped_with_warnings(tmp_path):
    p = make_qdpx(tmp_path / "o.qdpx", text=TEXT, selections=[(5, 9999, "Parent", "x"), (10, 4, "Parent", "y"),
                                                               (0, 11, "Parent", "Interviewer")])
    with init_project(tmp_path / "p") as project:
        res = import_qdpx(project, p)
        assert res.codings == 1 and len([w for w in res.warnings if "outside the text" in w]) == 2


# --------------------------------------------------------------------------- hostile files
def _assert_untouched(project, before):
    assert project.store.counts() == before


@pytest.fixture()
def empty_project(tmp_path):
    with init_project(tmp_path / "victim") as project:
        yield project


def test_path_traversal_entry_refused(tmp_path, empty_project):
    p = make_qdpx(tmp_path / "o.qdpx", text=TEXT, selections=[], extra_entries={"../../evil.txt": b"x"})
    before = empty_project.store.counts()
    with pytest.raises(InputError, match="outside the archive"):
        import_qdpx(empty_project, p)
    _assert_untouched(empty_project, before)


@pytest.mark.parametrize("ref", ["file:///etc/passwd", "/etc/passwd", "internal://../../../etc/passwd",
                                 "..\\..\\etc\\passwd", "C:/Windows/win.ini"])
def test_source_paths_outside_the_archive_are_never_read(tmp_path, empty_project, ref):
    p = make_qdpx(tmp_path / "o.qdpx", text=TEXT, selections=[], plain_path=ref)
    res = import_qdpx(empty_project, p)
    assert res.documents == [] and any("not inside the archive" in w for w in res.warnings)
    assert all("root:" not in d.text for d in empty_project.store.documents())


@pytest.mark.parametrize("payload", [
    b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><Project name="&x;"/>',
    b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><Project name="&c;"/>',
    b'<?xml version="1.0"?><Project name="x"><Sources>',  # not well-formed
    b"\x00\x01garbage",
    b'<?xml version="1.0"?><NotAProject/>',
])
def test_malicious_or_malformed_xml(tmp_path, empty_project, payload):
    p = tmp_path / "o.qdpx"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("project.qde", payload)
    before = empty_project.store.counts()
    with pytest.raises(InputError):
        import_qdpx(empty_project, p)
    _assert_untouched(empty_project, before)


def test_not_a_project(tmp_path, empty_project):
    bad = tmp_path / "x.qdpx"
    bad.write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(InputError):
        import_qdpx(empty_project, bad)
    other = tmp_path / "y.qdpx"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(InputError, match="project.qde"):
        import_qdpx(empty_project, other)
    with pytest.raises(InputError, match="not found"):
        import_qdpx(empty_project, tmp_path / "missing.qdpx")
    text = tmp_path / "z.qdpx"
    text.write_text("just text", encoding="utf-8")
    with pytest.raises(InputError, match="REFI-QDA"):
        import_qdpx(empty_project, text)


def test_limits_on_entries_and_size(tmp_path, empty_project, monkeypatch):
    p = make_qdpx(tmp_path / "o.qdpx", text=TEXT, selections=[], extra_entries={f"junk/{i}.txt": b"x" for i in range(20)})
    monkeypatch.setattr(qdpx.archive, "MAX_ENTRIES", 10)
    with pytest.raises(InputError, match="entries"):
        import_qdpx(empty_project, p)
    monkeypatch.setattr(qdpx.archive, "MAX_ENTRIES", 20_000)
    monkeypatch.setattr(qdpx.archive, "MAX_ARCHIVE_BYTES", 100)
    with pytest.raises(InputError, match="MiB"):
        import_qdpx(empty_project, p)


def test_zip_bomb_refused(tmp_path, empty_project):
    p = tmp_path / "bomb.qdpx"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", b'<?xml version="1.0"?><Project name="x"/>')
        zf.writestr("sources/a.txt", b"\0" * 50_000_000)
    with pytest.raises(InputError, match="zip bomb"):
        import_qdpx(empty_project, p)


def test_bad_input_leaves_store_untouched_midway(tmp_path, empty_project, monkeypatch):
    """A failure while writing rolls back everything (one transaction)."""
    s, e = _span(TEXT, "And the cost?")
    p = make_qdpx(tmp_path / "o.qdpx", text=TEXT, selections=[(s, e, "Parent", "And")])
    before = empty_project.store.counts()

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(empty_project.store, "add_codings", boom)
    with pytest.raises(RuntimeError):
        import_qdpx(empty_project, p)
    _assert_untouched(empty_project, before)
