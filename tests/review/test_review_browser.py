"""End to end in a real headless Chromium: `qualcode review` on a project built and
coded with `qualcode` itself from the bundled examples, driven with the keyboard.

Needs Debian's ``chromium`` and the ``playwright`` Python package (its own browser
download is not used); the tests skip with the reason when either is missing.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")

import qualcode  # noqa: E402
from qualcode.cli.main import main as qualcode_main  # noqa: E402
from qualcode.demo import examples_dir  # noqa: E402
from qualcode.project import open_project  # noqa: E402
from qualcode.store import review as rstore  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
HOSTILE = ('MODERATOR: Any comments on the clinic?\n'
           'ZED: <script>window.__pwned = 1</script> the bus fare to the clinic costs too much money.\n'
           'YAN: "><img src=x onerror="window.__pwned=2"> I trust the nurse, she listens to us.\n')
SHOTS = os.environ.get("QUALCODE_SCREENSHOTS")


def qc(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = qualcode_main(list(argv))
    assert rc == 0, (argv, out.getvalue())
    return out.getvalue()


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory):
    """A project made with the CLI: two transcripts (one hostile), coded with the codebook."""
    d = tmp_path_factory.mktemp("review-e2e")
    (d / "hostile.txt").write_text(HOSTILE, encoding="utf-8")
    ex = examples_dir()
    proj = d / "proj"
    qc("init", str(proj))
    qc("ingest", "-p", str(proj), str(ex / "focus_group_fathers.txt"), str(d / "hostile.txt"))
    qc("code", "-p", str(proj), "--codebook", str(ex / "codebook.yaml"))
    return proj


@contextlib.contextmanager
def review_server(project: Path, *args: str):
    """`qualcode review --no-open --port 0` in a subprocess; yields the URL it prints."""
    env = {**os.environ, "PYTHONPATH": str(Path(qualcode.__file__).resolve().parents[1]),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "qualcode.cli.main", "review", "-p", str(project),
                             "--no-open", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        url = None
        deadline = time.time() + 120
        lines = []
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            m = re.search(r"(http://127\.0\.0\.1:\d+/\?token=\S+)", line)
            if m:
                url = m.group(1)
                break
        assert url, "".join(lines)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def new_page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return page


def press(page, key: str, url_part: str = "/api/decide") -> dict:
    with page.expect_response(lambda r: url_part in r.url and r.request.method == "POST") as resp:
        page.keyboard.press(key)
    r = resp.value
    assert r.ok, r.text()
    page.wait_for_selector('body[data-state="idle"]')  # the page is refreshed after the response
    return r.json()


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name))


def test_keyboard_review_end_to_end(demo_project, browser):
    with review_server(demo_project, "--coder", "ana") as url:
        base = url.split("/?")[0]
        page = new_page(browser)
        page.goto(url)
        assert page.url == base + "/"  # the token left the address bar for a cookie
        page.wait_for_selector("#queue-list li.item.current")
        decided = []
        for _ in range(3):
            cid = page.get_attribute("#queue-list li.item.current", "data-coding-id")
            out = press(page, "a")
            assert out["decisions"][0]["coding_id"] == int(cid)
            decided.append(("accept", int(cid)))
        cid = page.get_attribute("#queue-list li.item.current", "data-coding-id")
        press(page, "r")
        decided.append(("reject", int(cid)))
        cur_code = page.get_attribute("#queue-list li.item.current", "data-code")
        cid = int(page.get_attribute("#queue-list li.item.current", "data-coding-id"))
        codes = json.loads(page.get_attribute('meta[name="qc-codes"]', "content"))
        key = next(str(i + 1) for i, c in enumerate(codes[:9]) if c != cur_code)
        out = press(page, key)
        assert out["decisions"][0]["action"] == "change" and out["decisions"][0]["code"] == codes[int(key) - 1]
        decided.append(("change", cid))
        assert page.locator("#queue-list li.st-accepted").count() >= 3
        assert page.locator("#n-reviewed").inner_text() != "0"
        shot(page, "review-queue.png")

        # add a missing code by selecting text in the document view
        store_proj = open_project(demo_project)
        doc = next(d for d in store_proj.store.documents() if d.name == "focus_group_fathers.txt")
        page.goto(f"{base}/doc/{doc.id}")
        page.wait_for_selector("#document .piece")
        sel = page.evaluate("""() => {
            const piece = Array.from(document.querySelectorAll('#document section.seg:not(.context) .piece'))
                .find(p => p.textContent.length > 40);
            const node = piece.firstChild;
            const r = document.createRange();
            r.setStart(node, 5); r.setEnd(node, 30);
            const s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
            return {start: Number(piece.dataset.start) + 5, text: s.toString()};
        }""")
        out = press(page, "7")
        added = out["decisions"][0]
        assert added["action"] == "add" and added["code"] == codes[6]
        assert (added["start"], added["end"]) == (sel["start"], sel["start"] + 25)
        assert doc.text[added["start"]:added["end"]] == sel["text"]
        page.click("#document .hl >> nth=0")
        page.wait_for_selector("#detail dl")
        assert "score (raw)" in page.inner_text("#detail") or "yours" in page.inner_text("#detail")
        shot(page, "review-document.png")

        # reload: everything is still there, in the page and in the store
        page.reload()
        page.wait_for_selector("#document .hl.mine")
        page.goto(base + "/?status=accepted")
        assert page.locator("#queue-list li.item").count() == 3
        assert page.errors == []
        store_proj.close()

    proj = open_project(demo_project)
    try:
        decs = rstore.decisions(proj.store, "ana")
        assert [(d["action"], d["coding_id"]) for d in decs[:5]] == decided
        assert decs[5]["action"] == "add" and len(decs) == 6
        human = [r for r in proj.store.codings(coder="ana") if r["run_id"] is None]
        assert len(human) == 5  # 3 accepted + 1 changed + 1 added; the rejection is a reviewed empty
        status = {c["id"]: c["status"] for c in proj.store.codings(run_id=decs[0]["source_run"])}
        assert [status[c] for _, c in decided] == ["accepted"] * 3 + ["rejected"] * 2
        reviewed = {str(d["segment_id"]) for d in decs}
    finally:
        proj.close()
    res = json.loads(qc("agree", "-p", str(demo_project), f"run:{decs[0]['source_run']}", "coder:ana",
                        "--json", "--boot", "0"))
    assert res["n_units"] == len(reviewed)


def test_hostile_transcript_renders_inert(demo_project, browser):
    with review_server(demo_project, "--coder", "dan") as url:
        base = url.split("/?")[0]
        page = new_page(browser)
        page.goto(url)
        proj = open_project(demo_project)
        doc = next(d for d in proj.store.documents() if d.name == "hostile.txt")
        proj.close()
        page.goto(f"{base}/doc/{doc.id}")
        page.wait_for_selector("#document .piece")
        text = page.inner_text("#document")
        assert "<script>window.__pwned = 1</script>" in text
        assert '"><img src=x onerror="window.__pwned=2">' in text
        assert page.evaluate("() => window.__pwned === undefined")
        assert page.locator("#document img, #document script").count() == 0
        page.goto(base + "/?document=" + str(doc.id))
        page.wait_for_selector("#queue-list")
        assert page.evaluate("() => window.__pwned === undefined")
        assert page.locator("#queue img, #queue script").count() == 0
        assert page.errors == []


def test_blind_reviewers_do_not_see_each_other(demo_project, browser):
    with review_server(demo_project, "--coder", "ben", "--blind") as ben_url, \
            review_server(demo_project, "--coder", "chen", "--blind") as chen_url:
        ben = new_page(browser)
        ben.goto(ben_url)
        ben.wait_for_selector("#queue-list li.item.current")
        assert ben.locator("[data-coding-id]").count() == 0 and ben.locator(".chip.ai").count() == 0
        press(ben, "1")
        assert ben.locator("#queue-list li.item.current .chip.mine").count() == 1
        shot(ben, "review-blind.png")
        seg = ben.get_attribute("#queue-list li.item.current", "data-segment-id")
        doc = ben.get_attribute("#queue-list li.item.current", "data-document-id")

        chen = new_page(browser)
        chen.goto(chen_url)
        chen.wait_for_selector("#queue-list li.item.current")
        assert chen.locator(".chip.mine, .chip.ai, [data-coding-id]").count() == 0
        chen.goto(chen_url.split("/?")[0] + f"/doc/{doc}#seg-{seg}")
        chen.wait_for_selector("#document .piece")
        assert chen.locator("#document .hl").count() == 0  # neither the AI's nor ben's codes
        ben.goto(ben_url.split("/?")[0] + f"/doc/{doc}#seg-{seg}")
        ben.wait_for_selector("#document .piece")
        assert ben.locator("#document .hl.mine").count() >= 1 and ben.locator("#document .hl.ai").count() == 0
