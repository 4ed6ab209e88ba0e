"""HTML report: sections shown only with data, self-contained, escaped, and rendered in
headless Chromium without console errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from qualcode.errors import InputError
from qualcode.project import init_project
from qualcode.report.html import build_report
from qualcode.types import Coding, ParsedDocument, SegmentSpan

from .conftest import build_project


def _sections(html: str) -> list[str]:
    return re.findall(r'<section class="qc-section" id="([a-z]+)"', html)


def test_empty_project_shows_only_overview_and_methods(tmp_path):
    with init_project(tmp_path / "p") as project:
        res = build_report(project.store, tmp_path / "r.html", project_name="empty")
    html = res.path.read_text(encoding="utf-8")
    assert _sections(html) == ["overview", "methods"]
    assert res.sections == ["overview", "methods"]


def test_sections_follow_the_data(tmp_path):
    out = build_project(tmp_path / "p", with_extras=False)
    try:
        res = build_report(out["project"].store, tmp_path / "r.html")
    finally:
        out["project"].close()
    secs = _sections(res.path.read_text(encoding="utf-8"))
    for s in ("overview", "codes", "heatmap", "network", "exemplars", "agreement", "methods"):
        assert s in secs
    assert "relevance" not in secs and "themes" not in secs


def test_full_report_has_every_section(module_project, tmp_path):
    res = build_report(module_project["project"].store, tmp_path / "r.html", project_name="Full")
    assert res.sections == ["overview", "codes", "heatmap", "network", "exemplars", "relevance", "themes", "cues",
                            "agreement", "methods"]
    html = res.path.read_text(encoding="utf-8")
    # the embedded data parses and carries the per-source aggregates
    payload = json.loads(re.search(r'<script id="qc-data" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert payload["defaultSource"] == module_project["code_run"]
    agg = payload["bySource"][module_project["code_run"]]
    assert {f["code"] for f in agg["freq"]} <= {"Cost", "Trust", "Distance", "Access", "Family support"}
    assert agg["exemplars"] and all(e["span"] for e in agg["exemplars"])
    assert payload["cues"]["types"]
    # every code has a distinct colour unless the codebook says otherwise
    colours = [payload["codes"][c]["color"] for c in ("Trust", "Distance", "Access", "Family support")]
    assert len(set(colours)) == 4 and "#e15759" not in colours


def test_report_is_self_contained(module_project, tmp_path):
    res = build_report(module_project["project"].store, tmp_path / "r.html")
    html = res.path.read_text(encoding="utf-8")
    assert "<script src" not in html and "<link" not in html and "@import" not in html
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    assert "default-src 'none'" in html  # the page itself forbids network access


def test_hostile_text_is_escaped(tmp_path):
    with init_project(tmp_path / "p") as project:
        st = project.store
        text = 'Amina: </script><script>alert("x")</script> <img src=x onerror=alert(1)> & more\n'
        doc_id, _ = st.add_document(ParsedDocument(text=text, format="txt"), name="<b>evil</b>.txt", source_path=None)
        doc = st.document(doc_id)
        st.add_segmentation(doc, "turn", {}, [SegmentSpan(index=0, start=7, end=len(text) - 1, speakers=("Amina",))])
        seg = st.segments()[0]
        st.add_codings([Coding(code="</script><i>code</i>", segment_id=seg.id, document_id=doc_id, start=seg.start,
                               end=seg.end, coder="bob")])
        res = build_report(st, tmp_path / "r.html", project_name="<script>alert(2)</script>")
    html = res.path.read_text(encoding="utf-8")
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "<b>evil</b>" not in html
    assert html.count("</script>") == 2  # the data block and the code block


def test_bad_output_name(tmp_path, module_project):
    with pytest.raises(InputError, match=r"\.html"):
        build_report(module_project["project"].store, tmp_path / "r.pdf")


# --------------------------------------------------------------------------- headless Chromium
CHROMIUM_APT = "apt-get update && apt-get install -y chromium"


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    return None


def _run_chromium(exe: str, url: str, user_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={user_dir}",
           "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", *extra, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    """The demo project (real local embedding model) with cues, a human coder and a
    relevance run, and its report."""
    from qualcode.demo import run_demo

    root = tmp_path_factory.mktemp("demo")
    res = run_demo(root / "demo", show_progress=False)
    from qualcode.project import open_project

    with open_project(res.project_dir) as project:
        st = project.store
        # a human coder who agrees with the AI on most segments, to fill the agreement section
        cods = st.codings(run_id=res.code_run)
        human = [Coding(code=c["code"], segment_id=c["segment_id"], document_id=c["document_id"], start=c["start"],
                        end=c["end"], coder="alice", status="accepted") for i, c in enumerate(cods) if i % 5]
        st.add_codings(human)
        try:
            from qualcode.cli.main import main

            main(["cues", "-p", str(res.project_dir)])
        except SystemExit:
            pass
        out = build_report(st, root / "report.html", project_name=project.name)
    return out


def test_report_renders_in_headless_chromium(demo_report, tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip(f"chromium is not installed (CI installs it: {CHROMIUM_APT})")
    url = demo_report.path.resolve().as_uri()
    proc = _run_chromium(exe, url, tmp_path / "ud1", "--dump-dom")
    dom = proc.stdout
    assert 'data-qc-ready="1"' in dom, proc.stderr[-2000:]
    assert 'data-qc-errors="' not in dom, re.search(r'id="qc-errors"[^>]*>(.*?)</div>', dom, re.S)
    for kind in ("bar", "heatmap", "cooccurrence", "network", "timeline"):
        assert f'data-chart="{kind}"' in dom, f"no {kind} chart rendered"
    n = int(re.search(r'data-qc-charts="(\d+)"', dom).group(1))
    assert n >= 4
    assert dom.count('class="hov bar"') >= 5 and dom.count('class="hov cell"') >= 10
    assert "class=\"node hov\"" in dom
    assert "data-enhanced" in dom  # tables became sortable/searchable
    assert "Uncaught" not in proc.stderr and "SyntaxError" not in proc.stderr
    shot_dir = Path(os.environ.get("QUALCODE_SCREENSHOT_DIR") or tmp_path)
    shot_dir.mkdir(parents=True, exist_ok=True)
    shot = shot_dir / "report_screenshot.png"
    proc = _run_chromium(exe, url, tmp_path / "ud2", f"--screenshot={shot}", "--window-size=1400,2400",
                         "--hide-scrollbars")
    assert shot.is_file() and shot.stat().st_size > 20_000, proc.stderr[-2000:]
    assert "Uncaught" not in proc.stderr
