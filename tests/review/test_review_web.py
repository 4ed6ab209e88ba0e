"""The review web app through Starlette's test client: sign-in, Host check, CSRF,
escaping, and decisions through the HTTP API."""

from __future__ import annotations

import pytest

pytest.importorskip("httpx", reason="httpx is needed by Starlette's test client (pip install 'qualcode[test]')")

from starlette.testclient import TestClient  # noqa: E402

from qualcode.corpus import ingest_files  # noqa: E402
from qualcode.project import open_project  # noqa: E402
from qualcode.review.api import ReviewSession  # noqa: E402
from qualcode.review.app import CSRF_HEADER, create_app  # noqa: E402

PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
HOSTILE = """MODERATOR: Any comments on the clinic?
ZED: <script>window.__pwned = 1</script> the bus fare costs too much money.
YAN: "><img src=x onerror="window.__pwned=2"> I trust the nurse, she listens.
"""


@pytest.fixture
def app_for(coded):
    made = []

    def make(coder="ana", **kw):
        pdir = coded.path

        def factory():
            return ReviewSession(open_project(pdir), coder, **kw)

        app = create_app(factory, token="tok-" + coder, port=PORT)
        made.append(app)
        return app

    yield make
    for app in made:
        app.worker.close()


def signed_in(app, coder="ana"):
    c = TestClient(app, base_url=BASE)
    r = c.get(f"/?token=tok-{coder}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "httponly" in r.headers["set-cookie"].lower() and "samesite=strict" in r.headers["set-cookie"].lower()
    return c


def csrf_of(client):
    html = client.get("/").text
    return html.split('name="qc-csrf" content="', 1)[1].split('"', 1)[0]


def test_sign_in_host_check_and_csrf(app_for):
    app = app_for()
    anon = TestClient(app, base_url=BASE)
    assert anon.get("/").status_code == 403
    assert anon.get("/?token=wrong").status_code == 403
    assert anon.get("/api/queue").status_code == 403
    c = signed_in(app)
    page = c.get("/")
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    # DNS rebinding: the right cookie on another host name is refused
    evil = TestClient(app, base_url=f"http://evil.example:{PORT}")
    evil.cookies.set(app.cookie_name, "tok-ana")
    assert evil.get("/").status_code == 421
    item = c.get("/api/queue").json()["items"][0]
    body = {"action": "accept", "coding_id": item["coding_id"]}
    assert c.post("/api/decide", json=body).status_code == 403  # no CSRF token
    token = csrf_of(c)
    assert c.post("/api/decide", json=body, headers={CSRF_HEADER: "nope"}).status_code == 403
    assert c.post("/api/decide", content="action=accept", headers={
        CSRF_HEADER: token, "content-type": "application/x-www-form-urlencoded"}).status_code == 415
    assert c.post("/api/decide", json=body, headers={CSRF_HEADER: token,
                                                     "origin": "http://evil.example"}).status_code == 403
    ok = c.post("/api/decide", json=body, headers={CSRF_HEADER: token, "origin": BASE})
    assert ok.status_code == 200, ok.text
    assert ok.json()["decisions"][0]["action"] == "accept"
    assert c.get("/api/agreement").json()["reviewed"] == 1


def test_decisions_over_http_reach_the_store(app_for, coded):
    app = app_for()
    c = signed_in(app)
    h = {CSRF_HEADER: csrf_of(c)}
    items = c.get("/api/queue?size=100").json()["items"]
    ai = [i for i in items if i["coding_id"] is not None]
    assert c.post("/api/decide", json={"action": "accept", "coding_id": ai[0]["coding_id"]}, headers=h).status_code == 200
    assert c.post("/api/decide", json={"action": "reject", "coding_id": ai[1]["coding_id"]}, headers=h).status_code == 200
    r = c.post("/api/decide", json={"action": "change", "coding_id": ai[2]["coding_id"], "code": "Nope"}, headers=h)
    assert r.status_code == 400 and "unknown code" in r.json()["error"]
    r = c.post("/api/decide", json={"action": "add", "code": "Food", "segment_id": "x"}, headers=h)
    assert r.status_code == 400 and "segment_id" in r.json()["error"]
    undone = c.post("/api/undo", json={}, headers=h).json()["undone"]
    assert undone["action"] == "reject"
    rows = [r for r in coded.store.codings(coder="ana") if r["run_id"] is None]
    assert [(r["segment_id"], r["code"]) for r in rows] == [(ai[0]["segment_id"], ai[0]["code"])]
    # the queue fragment shows the new status
    frag = c.get("/fragment/queue").text
    assert "st-accepted" in frag
    detail = c.get(f"/api/coding/{ai[0]['coding_id']}").json()
    assert detail["run"]["id"] == coded.run_id
    assert c.get("/api/coding/999999").status_code == 404
    assert c.get("/doc/99999").status_code == 404
    css = c.get("/codes.css").text
    assert ".k0{--c:#" in css


def test_hostile_transcript_is_escaped(app_for, coded, tmp_path):
    from qualcode.coding.deductive import code_segments

    (tmp_path / "hostile.txt").write_text(HOSTILE)
    ingest_files(coded, [tmp_path / "hostile.txt"])
    code_segments(coded, coded.test_dir / "cb.yaml", show_progress=False, mode="multi", margin=0.2)
    app = app_for()
    c = signed_in(app)
    doc_id = next(d.id for d in coded.store.documents() if d.name == "hostile.txt")
    for url in ("/", f"/doc/{doc_id}", "/fragment/queue?page=0"):
        html = c.get(url).text
        assert "<script>window" not in html and "<img src=x" not in html
    doc = c.get(f"/doc/{doc_id}").text
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in doc
    assert "&#34;&gt;&lt;img src=x onerror=&#34;window.__pwned=2&#34;&gt;" in doc


def test_blind_app_shows_no_ai_codes(app_for):
    ana = signed_in(app_for("ana"), "ana")
    h = {CSRF_HEADER: csrf_of(ana)}
    item = ana.get("/api/queue").json()["items"][0]
    ana.post("/api/decide", json={"action": "accept", "coding_id": item["coding_id"]}, headers=h)
    ben = signed_in(app_for("ben", blind=True), "ben")
    q = ben.get("/api/queue").json()
    assert all("coding_id" not in i and "code" not in i for i in q["items"])
    page = ben.get("/").text
    assert "data-coding-id" not in page and "chip ai" not in page
    assert ben.get(f"/api/coding/{item['coding_id']}").status_code == 404
    doc = ben.get(f"/doc/{item['document_id']}").text
    assert "hl ai" not in doc


def test_cli_errors_are_clear(coded, tmp_path, capsys):
    import socket

    from qualcode.cli.main import main
    from qualcode.project import init_project

    empty = init_project(tmp_path / "empty")
    empty.close()
    assert main(["review", "-p", str(tmp_path / "empty"), "--coder", "ana", "--no-open", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "no coding run" in err and "qualcode code" in err
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        port = busy.getsockname()[1]
        assert main(["review", "-p", str(coded.path), "--coder", "ana", "--no-open", "--port", str(port)]) == 2
        err = capsys.readouterr().err
        assert f"cannot listen on 127.0.0.1:{port}" in err and "--port 0" in err
    finally:
        busy.close()
    assert main(["review", "-p", str(coded.path), "--coder", "run:x", "--no-open"]) == 2
    assert "reserved" in capsys.readouterr().err


def test_review_a_sample_only(coded, tmp_path):
    from qualcode.reliability.sample import draw_sample

    smp = draw_sample(coded, coded.run_id, 4, seed=3, out=tmp_path / "s.xlsx")
    s = ReviewSession(coded, "ana", sample=smp.id)
    assert sorted(s.units) == sorted(smp.segment_ids)
    assert {i["segment_id"] for i in s.queue(size=100).items} == set(smp.segment_ids)
    with pytest.raises(Exception, match="not a sample"):
        ReviewSession(coded, "ana", sample=coded.run_id)
