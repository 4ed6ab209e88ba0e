"""Review workbench at scale: the 34,000-segment project of bench_report (about 3 AI
codings per segment, 40 codes), served by the review app through Starlette's test client.

Bars: the first queue page in under 1 s of server time; a decision stored in under
50 ms at p95. Side by side, baselines in the same run: opening the session (built
once when the server starts), the first page rendered *without* pagination (every
item in one page, what a naive workbench would do), and the floor for a decision: one
bare human coding written with ``Store.add_codings`` in its own transaction.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mb, table
from bench_report import build

from qualcode.project import open_project
from qualcode.review.api import ReviewSession
from qualcode.review.app import CSRF_HEADER, create_app
from qualcode.types import Coding

PORT = 8765
FIRST_PAGE_BAR_S, DECISION_P95_BAR_MS = 1.0, 50.0
N_DECISIONS = 300


def p95(values: list[float]) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(0.95 * (len(v) - 1))))]


def main() -> None:
    from starlette.testclient import TestClient

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        info = build(d / "proj")
        info["project"].close()
        print(f"store: {info['segments']:,} segments, {info['ai']:,} AI codings")

        t = time.perf_counter()
        holder = {}

        def factory():
            t0 = time.perf_counter()
            s = ReviewSession(open_project(d / "proj"), "bench")
            holder["open_s"] = time.perf_counter() - t0
            return s

        app = create_app(factory, token="t", port=PORT)
        t_start = time.perf_counter() - t
        c = TestClient(app, base_url=f"http://127.0.0.1:{PORT}")
        c.get("/?token=t", follow_redirects=False)

        def timed_get(url: str) -> float:
            t0 = time.perf_counter()
            r = c.get(url)
            assert r.status_code == 200, r.text[:300]
            return time.perf_counter() - t0

        first_html = timed_get("/")
        pages = [timed_get("/") for _ in range(5)]
        api = [timed_get("/api/queue?size=50") for _ in range(5)]
        filtered = [timed_get("/api/queue?size=50&code=Code+07&band=low&status=unreviewed") for _ in range(3)]
        naive = [timed_get("/api/queue?size=500&page=0")]
        # the whole queue in one page, as a workbench without pagination would send it
        session = app.worker.session
        t0 = time.perf_counter()
        whole = app.worker.run(lambda: session.queue(size=500, page=0))
        n_items = whole.total
        app.worker.run(lambda: [session.queue(size=500, page=p) for p in range(whole.pages)])
        t_whole = time.perf_counter() - t0

        csrf = c.get("/").text.split('name="qc-csrf" content="', 1)[1].split('"', 1)[0]
        items = c.get("/api/queue?size=500").json()["items"]
        items = [i for i in items if i["coding_id"] is not None][:N_DECISIONS]
        lat = []
        for i, it in enumerate(items):
            action = ("accept", "reject", "change")[i % 3]
            body = {"action": action, "coding_id": it["coding_id"]}
            if action == "change":
                body["code"] = "Code 00" if it["code"] != "Code 00" else "Code 01"
            t0 = time.perf_counter()
            r = c.post("/api/decide", json=body, headers={CSRF_HEADER: csrf})
            lat.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text
        t0 = time.perf_counter()
        c.post("/api/undo", json={}, headers={CSRF_HEADER: csrf})
        undo_ms = (time.perf_counter() - t0) * 1000
        agree = [timed_get("/api/agreement") for _ in range(3)]

        def bare_inserts() -> list[float]:
            st = session.store
            out = []
            for it in items:
                cod = Coding(code=it["code"], segment_id=it["segment_id"], document_id=it["document_id"],
                             start=0, end=1, coder="floor", status="accepted")
                t1 = time.perf_counter()
                st.add_codings([cod])
                out.append((time.perf_counter() - t1) * 1000)
            return out

        floor = app.worker.run(bare_inserts)
        app.worker.close()

    print(f"server start (session built once: queue of {n_items:,} items, ordered): "
          f"{t_start:.2f} s (ReviewSession {holder['open_s']:.2f} s)\n")
    rows = [
        {"measure": "first queue page, HTML (first request)", "value": f"{first_html:.3f} s",
         "bar": f"< {FIRST_PAGE_BAR_S:.0f} s", "ok": "yes" if first_html < FIRST_PAGE_BAR_S else "NO"},
        {"measure": "queue page, HTML (median of 5)", "value": f"{statistics.median(pages):.3f} s",
         "bar": f"< {FIRST_PAGE_BAR_S:.0f} s", "ok": "yes" if statistics.median(pages) < FIRST_PAGE_BAR_S else "NO"},
        {"measure": "queue page, JSON API (median of 5)", "value": f"{statistics.median(api):.3f} s", "bar": "", "ok": ""},
        {"measure": "filtered page: code+band+status (median of 3)", "value": f"{statistics.median(filtered):.3f} s",
         "bar": "", "ok": ""},
        {"measure": "baseline: 500-item page", "value": f"{naive[0]:.3f} s", "bar": "", "ok": ""},
        {"measure": f"baseline: whole queue, no pagination ({n_items:,} items)", "value": f"{t_whole:.2f} s",
         "bar": "", "ok": ""},
        {"measure": f"decision stored, p95 of {len(lat)} (HTTP)", "value": f"{p95(lat):.1f} ms",
         "bar": f"< {DECISION_P95_BAR_MS:.0f} ms", "ok": "yes" if p95(lat) < DECISION_P95_BAR_MS else "NO"},
        {"measure": "decision stored, median (HTTP)", "value": f"{statistics.median(lat):.1f} ms", "bar": "", "ok": ""},
        {"measure": "baseline: bare add_codings, p95 / median", "value": f"{p95(floor):.1f} / "
         f"{statistics.median(floor):.1f} ms", "bar": "", "ok": ""},
        {"measure": "undo (HTTP)", "value": f"{undo_ms:.1f} ms", "bar": "", "ok": ""},
        {"measure": "live agreement (median of 3)", "value": f"{statistics.median(agree):.3f} s", "bar": "", "ok": ""},
    ]
    table(rows, ["measure", "value", "bar", "ok"])
    print(f"\npeak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
