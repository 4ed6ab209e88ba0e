"""HICode's clustering iterations as a code hierarchy: `export_codebook(levels=...)`,
`theme_hierarchy`, `themes export-codebook --levels`, `themes show --tree`, and the
REFI-QDA export of the hierarchy. The deterministic fake LLM (through the real
registry) and a tiny bag-of-words embedder keep it fast and repeatable."""

from __future__ import annotations

import json
import re
import zipfile
import xml.etree.ElementTree as ET

import pytest

from qualcode.backends import registry
from qualcode.cli.main import main
from qualcode.codebook import load_codebook
from qualcode.errors import InputError
from qualcode.llm import LLMClient
from qualcode.exchange.refi_qda import NS, export_qdpx
from qualcode.store import llm_log
from qualcode.themes.hicode import (
    export_codebook,
    normalise_label,
    run_hicode,
    theme_codebook,
    theme_hierarchy,
)
from tests.fakes.embedder import FakeEmbedder

BACKGROUND = "Focus groups with mothers about maternal and child health services."
GOAL = "What stops families from using health services?"

TRANSCRIPT = """MODERATOR: What makes it hard to reach the clinic?
P1: The clinic is far away and the walking takes two hours, and the road floods in the rainy season.
P2: Transport money is the problem. The boda boda fare doubled and my husband keeps the money.
P3: The waiting is long. We wait the whole morning and sometimes the nurse sends us home without medicine.
P4: The nurses shout at young mothers, so the young mothers stop coming to the clinic.
MODERATOR: What would help families most?
P5: Money for transport and food, because advice alone does not fill the plate for the children.
P6: Trust grows when the health worker keeps secrets and does not gossip in the village market."""


@pytest.fixture
def project(make_project):
    return make_project(turns={"group": TRANSCRIPT})


def hicode(project, spec="fake:group=2", handler=None, **kw):
    fake = registry.llm_backend(spec, handler=handler) if handler else registry.llm_backend(spec)
    client = LLMClient(fake, project.store, concurrency=2, show_progress=False)
    kw.setdefault("batch_size", 5)
    return run_hicode(project, background=BACKGROUND, goal=GOAL, client=client, embedder=FakeEmbedder(16), **kw)


def assigned(store, rid):
    """(iteration, normalised member) -> theme of that iteration."""
    out = {}
    for it in llm_log.iterations(store, rid):
        for theme, ms in llm_log.iteration_members(store, rid, it["iteration"]).items():
            for m in ms:
                out[(it["iteration"], normalise_label(m["member"]))] = theme
    return out


# ---------------------------------------------------------------------- a crafted hierarchy
LABELS = {"bus fare": ["Access", "bus fare"], "wait the whole": ["long wait"], "rude": ["rude nurses"],
          "costs money": ["cost"]}
CLUSTERS = {  # the inputs of each iteration -> the themes the "model" returns
    frozenset({"access", "bus fare", "long wait", "rude nurses", "cost"}):
        [("Access", ["Access", "bus fare"]), ("Waiting", ["long wait"]), ("Staff", ["rude nurses"]),
         ("Cost", ["cost"])],
    frozenset({"access", "waiting", "staff", "cost"}): [("Access", ["Access", "Cost"]), ("Clinic", ["Waiting", "Staff"])],
    frozenset({"access", "clinic"}): [("Access", ["Access"]), ("Clinic", ["Clinic"])],
}
CRAFTED = """MODERATOR: What gets in the way?
P1: The bus fare is too much for us.
P2: We wait the whole morning at the clinic.
P3: The nurses are rude to young mothers.
P4: Everything costs money, even the card."""


def crafted_handler(title, messages, schema):
    user = messages[-1].content
    if title == "hicode_labels":
        seg = re.search(r"<segment>\n?(.*?)\n?</segment>", user, re.S).group(1)
        labs = next((v for k, v in LABELS.items() if k in seg), [])
        return {"irrelevant": not labs, "labels": labs}
    if title == "hicode_cluster":
        block = re.search(r"<labels>\n?(.*?)\n?</labels>", user, re.S).group(1)
        inputs = frozenset(normalise_label(x) for x in block.splitlines() if x.strip())
        return {"themes": [{"name": n, "labels": ms} for n, ms in CLUSTERS[inputs]]}
    if title == "hicode_define":
        return {"definition": "Stored definition from the run.", "quotes": []}
    raise AssertionError(title)


@pytest.fixture
def crafted(tmp_path, make_project):
    p = make_project(path=tmp_path / "crafted", turns={"group": CRAFTED})
    return p, hicode(p, "fake:", handler=crafted_handler, target=1, batch_size=100)


def test_crafted_hierarchy_names_parents_and_merges(crafted, tmp_path):
    p, res = crafted
    its = llm_log.iterations(p.store, res.run_id)
    assert [i["n_themes"] for i in its] == [4, 2, 2] and its[-1]["stop_reason"] == "no shrink"

    cb = export_codebook(p, tmp_path / "all.yaml", levels="all")
    loaded = load_codebook(tmp_path / "all.yaml")
    parents = {c.name: c.parent for c in loaded.codes}
    assert parents == {"Access": None, "Clinic": None, "Access (level 1)": "Access", "Cost": "Access",
                       "Waiting": "Clinic", "Staff": "Clinic"}
    assert [c.name for c in cb.codes] == [c.name for c in loaded.codes]
    defs = {c.name: c.definition for c in loaded.codes}
    assert defs["Access"] == defs["Clinic"] == "Stored definition from the run."  # stored where one exists
    assert defs["Access (level 1)"] == "Segments where participants raise: Access; bus fare."  # else its labels
    assert defs["Waiting"] == "Segments where participants raise: long wait."
    assert all(c.examples for c in loaded.codes if c.parent is None)

    h = theme_hierarchy(p.store, levels="labels")
    assert h.merged == 3  # Access and Clinic at iterations 2-3, and "Cost" with its only label "cost"
    assert ("Access", 1, "Access (level 1)") in h.renamed and ("Access", 0, "Access (label)") in h.renamed
    assert any("got a suffix" in n and "'Access' -> 'Access (level 1)'" in n for n in h.notes)
    export_codebook(p, tmp_path / "labels.yaml", levels="labels")
    labels = {c.name: c.parent for c in load_codebook(tmp_path / "labels.yaml").codes}
    assert labels["Access (label)"] == labels["bus fare"] == "Access (level 1)"
    assert labels["long wait"] == "Waiting" and labels["rude nurses"] == "Staff"
    assert "cost" not in labels and labels["Cost"] == "Access"
    assert [ln.strip() for ln in h.tree_lines()][:5] == [
        "Access  [iterations 2-3, 3 labels, 2 segments]",
        "Access (level 1)  [iteration 1, 2 labels, 1 segment]",
        "- Access (label)  [1 segment]",
        "- bus fare  [1 segment]",
        "Cost  [iteration 1, 1 label, 1 segment]",
    ]
    assert h.tree_lines()[1].startswith("    Access (level 1)") and h.tree_lines()[2].startswith("        - ")

    # without merging, every iteration's theme is its own code
    flat = theme_hierarchy(p.store, levels="all", merge_same_name=False)
    names = [n.name for n in flat.nodes()]
    assert flat.merged == 0 and len(names) == 8 and "Access (level 2)" in names and "Clinic (level 2)" in names

    # the tree below one iteration
    sub = theme_hierarchy(p.store, levels="labels", iteration=1)
    assert [r.name for r in sub.roots] and {r.stored for r in sub.roots} == {"Access", "Waiting", "Staff", "Cost"}
    assert all(n.definition for n in sub.nodes())


def test_hierarchy_follows_the_stored_iterations(project, tmp_path):
    res = hicode(project, "fake:group=2,drop=4")
    store, rid = project.store, res.run_id
    its = llm_log.iterations(store, rid)
    assert len(its) >= 3
    chain = assigned(store, rid)
    final = [t["name"] for t in llm_log.themes(store, rid)]
    for levels in ("all", "labels"):
        out = tmp_path / f"{levels}.yaml"
        cb = export_codebook(project, out, levels=levels)
        loaded = load_codebook(out)  # validates unique names and known parents
        assert [c.name for c in loaded.codes] == [c.name for c in cb.codes]
        assert [c.name for c in loaded.codes if c.parent is None] == final  # final themes on top, same names
        assert len({c.name.casefold() for c in loaded.codes}) == len(loaded.codes)
        assert all(c.definition.strip() for c in loaded.codes)
        h = theme_hierarchy(store, rid, levels=levels)
        by_name = {n.name: n for n in h.nodes()}
        for n in h.nodes():
            if n.parent is None:
                continue
            par = by_name[n.parent]
            # the parent is the theme this one was clustered into at the next iteration
            assert par.first_level == n.level + 1
            assert normalise_label(chain[(n.level + 1, normalise_label(n.stored))]) == normalise_label(par.stored)
            if n.name != n.stored:
                assert n.renamed and n.name == f"{n.stored} ({'label' if n.level == 0 else f'level {n.level}'})"
        # nothing lost: every theme of every iteration (and every label) is a code or merged into one
        expected = sum(i["n_themes"] for i in its) + (its[0]["n_inputs"] if levels == "labels" else 0)
        assert len(h.nodes()) + h.merged == expected
        if levels == "labels":
            leaves = {normalise_label(n.stored) for n in h.nodes() if n.level == 0}
            assert leaves == {normalise_label(r["label"]) for r in llm_log.segment_labels(store, rid) if r["label"]}
    assert any(c.name.endswith(")") and " (level " in c.name for c in load_codebook(tmp_path / "all.yaml").codes)
    # final stays the default and unchanged
    assert [c.name for c in theme_codebook(store, rid).codes] == final
    assert [c.parent for c in theme_codebook(store, rid, levels="final").codes] == [None] * len(final)
    with pytest.raises(InputError, match="levels must be one of final, all, labels"):
        theme_codebook(store, rid, levels="everything")
    with pytest.raises(InputError, match="has no iteration 42"):
        theme_hierarchy(store, rid, iteration=42)


def test_qdpx_export_keeps_the_hierarchy(project, tmp_path):
    res = hicode(project)
    out = tmp_path / "labels.yaml"
    export_codebook(project, out, levels="labels", name="hierarchy")
    cb = load_codebook(out)
    project.store.add_codebook(cb, origin="file")
    qdpx = tmp_path / "themes.qdpx"
    result = export_qdpx(project.store, qdpx, codebook="hierarchy", sources=[res.run_id])
    assert result.codings > 0 and result.codes == len(cb.codes)  # the run's codings use the top-level codes
    with zipfile.ZipFile(qdpx) as zf:
        root = ET.fromstring(zf.read("project.qde"))
    codes_el = root.find(f"{{{NS}}}CodeBook/{{{NS}}}Codes")
    found: dict[str, str | None] = {}

    def walk(el, parent):
        for c in el.findall(f"{{{NS}}}Code"):
            found[c.get("name")] = parent
            walk(c, c.get("name"))

    walk(codes_el, None)
    assert found == {c.name: c.parent for c in cb.codes}
    assert max(len(list(_ancestors(found, n))) for n in found) >= 3  # theme > theme > theme > label
    coded = {ref.get("targetGUID") for ref in root.iter(f"{{{NS}}}CodeRef")}
    top_guids = {c.get("guid") for c in codes_el.findall(f"{{{NS}}}Code")}
    assert coded and coded <= top_guids


def _ancestors(parents, name):
    while parents.get(name) is not None:
        name = parents[name]
        yield name


def test_run_without_iterations_exports_its_themes(project, tmp_path):
    res = hicode(project)
    project.store.conn.execute("DELETE FROM theme_members WHERE run_id = ?", (res.run_id,))
    project.store.conn.execute("DELETE FROM theme_iterations WHERE run_id = ?", (res.run_id,))
    h = theme_hierarchy(project.store, levels="all")
    assert [r.name for r in h.roots] == [t["name"] for t in res.themes] and not any(r.children for r in h.roots)
    assert "no clustering iterations" in h.notes[0]
    cb = export_codebook(project, tmp_path / "cb.yaml", levels="labels")
    assert [c.definition for c in cb.codes] == [t["definition"] for t in res.themes]


def test_cli_export_levels_and_tree(crafted, tmp_path, capsys):
    p, res = crafted
    pdir = str(p.path)
    out = tmp_path / "cli.yaml"
    assert main(["themes", "export-codebook", "-p", pdir, "--out", str(out), "--levels", "all"]) == 0
    text = capsys.readouterr().out
    assert "2 final themes as top-level codes, 4 child codes" in text
    assert "note:" in text and "'Access' -> 'Access (level 1)'" in text
    assert {c.name: c.parent for c in load_codebook(out).codes}["Access (level 1)"] == "Access"
    assert main(["themes", "export-codebook", "-p", pdir, "--out", str(out)]) == 0  # default: final only
    assert "wrote 2 themes" in capsys.readouterr().out and [c.parent for c in load_codebook(out).codes] == [None, None]

    assert main(["themes", "show", "--tree", "-p", pdir]) == 0
    text = capsys.readouterr().out
    assert "2 final themes; 3 iterations" in text
    assert "\nAccess  [iterations 2-3, 3 labels, 2 segments]\n    Access (level 1)  [iteration 1" in text
    assert "\n        - bus fare  [1 segment]" in text and "merged into one code" in text
    assert main(["themes", "show", "2", "--tree", "--levels", "all", "-p", pdir]) == 0
    text = capsys.readouterr().out
    assert "themes of iteration 2" in text and "bus fare" not in text and "\n    Waiting  [iteration 1" in text
    assert main(["themes", "show", "--tree", "--json", "-p", pdir]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [t["name"] for t in data["tree"]] == ["Access", "Clinic"] and data["merged"] == 3
    assert main(["themes", "show", "9", "--tree", "-p", pdir]) == 2
    assert "has no iteration 9" in capsys.readouterr().err
    assert main(["themes", "map", "--tree", "-p", pdir]) == 2
    assert "--tree applies to" in capsys.readouterr().err
    assert main(["themes", "show", "1", "-p", pdir]) == 0  # the plain iteration view is unchanged
    assert "iteration 1 of" in capsys.readouterr().out
