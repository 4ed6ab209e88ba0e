"""A coding run says where it is unsure: run summary, the CLI's --json, the HTML report
and the methods statement."""

import json

from qualcode.coding.deductive import code_segments
from qualcode.corpus import ingest_files
from qualcode.project import init_project
from qualcode.report.html import build_report
from qualcode.report.methods import methods_statement
import hashlib

import numpy as np

from qualcode.backends.base import EmbeddingBackend
from tests.conftest import use_embedder


class TopicEmbedder(EmbeddingBackend):
    """Each topic's words point one way, every text shares a common direction, and a
    text's hash adds a little noise: coded topics stand out, small talk does not."""

    name = "topic-test-16"
    TOPICS = [("bus", "fare", "transport", "clinic"), ("food", "meals", "porridge", "hunger"),
              ("unicorns", "dragons", "castles")]

    def embed_batch(self, texts):
        out = np.zeros((len(texts), 16), dtype=np.float32)
        for i, t in enumerate(texts):
            low = t.lower()
            out[i, 15] = 0.5
            for k, words in enumerate(self.TOPICS):
                out[i, k] += sum(w in low for w in words)
            seed = int(hashlib.md5(t.encode()).hexdigest()[:8], 16)
            out[i, 3:15] += np.random.default_rng(seed).normal(scale=0.15, size=12)
            out[i] /= np.linalg.norm(out[i])
        return out

CODEBOOK = """codes:
  - name: Transport
    definition: bus fare transport money clinic far
  - name: Food
    definition: food hunger meals porridge
  - name: Unicorns
    definition: unicorns dragons castles
"""


FILLER = ["yes", "okay", "thank", "you", "right", "sure", "well", "maybe", "agree", "indeed", "so", "then"]


def _transcript():
    lines = []
    for i in range(30):
        words = " ".join(FILLER[(i + j) % len(FILLER)] for j in range(4))
        if i % 3 == 0:
            lines.append(f"P{i}: The bus fare to the clinic is a lot of transport money, {words}.")
        elif i % 3 == 1:
            lines.append(f"P{i}: We had no food, the meals were only porridge, {words}.")
        else:
            lines.append(f"P{i}: {words} {FILLER[i % 12]}.")
    return "\n".join(lines) + "\n"


def test_run_summary_report_and_methods_say_where_coding_is_unsure(tmp_path, capsys):
    (tmp_path / "fg.txt").write_text(_transcript())
    (tmp_path / "cb.yaml").write_text(CODEBOOK)
    p = init_project(tmp_path / "proj")
    use_embedder(p, TopicEmbedder())
    try:
        ingest_files(p, [tmp_path / "fg.txt"])
        # no floor: small talk gets codes too, which the run must call a guess
        res = code_segments(p, tmp_path / "cb.yaml", threshold=0.0, code_thresholds={"Unicorns": 0.9},
                            show_progress=False)
        u = res.uncertain
        assert res.run.summary["uncertain"] == u
        # the small-talk turns are coded at the null; "Unicorns" fits nothing
        segs = {s.id: s.text for s in p.store.segments()}
        assert u["at_null"] >= 8 and all("fare" not in segs[i] and "porridge" not in segs[i]
                                         for i in u["at_null_segments"])
        assert u["degenerate_codes"].get("Unicorns") == "applied to no segment"
        report = build_report(p.store, tmp_path / "r.html")
        html = (tmp_path / "r.html").read_text(encoding="utf-8")
        assert 'id="uncertain"' in html and "Unicorns" in html and "at the null" in html
        ms = methods_statement(p.store).to_markdown()
        assert "Where the coding was unsure" in ms and "Unicorns" in ms
        assert report is not None
    finally:
        p.close()


def test_code_json_output_carries_the_diagnostics(tmp_path, monkeypatch, capsys):
    import qualcode.project as qp
    from qualcode.cli.main import main

    (tmp_path / "fg.txt").write_text(_transcript())
    (tmp_path / "cb.yaml").write_text(CODEBOOK)
    d = tmp_path / "p"
    assert main(["init", str(d)]) == 0
    fake = TopicEmbedder()
    monkeypatch.setattr(qp.Project, "embedder", lambda self, spec=None, *, texts=(): fake)
    assert main(["ingest", "-p", str(d), str(tmp_path / "fg.txt")]) == 0
    capsys.readouterr()
    assert main(["code", "-p", str(d), "--codebook", str(tmp_path / "cb.yaml"), "--code-threshold", "Unicorns=0.9",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["uncertain"]["degenerate_codes"]["Unicorns"] == "applied to no segment"
    assert {"near_tie", "at_null", "null_scale"} <= set(out["uncertain"])
