
import pytest

from qualcode.codebook import codebook_to_yaml, load_codebook
from qualcode.errors import InputError


def test_help_themes_json_list_of_strings(shared_data):
    cb = load_codebook(shared_data / "ipa-focus-group" / "help_themes.json")
    assert len(cb.codes) == 16
    assert all(c.definition for c in cb.codes)
    assert cb.codes[0].name == "Joint feedback and adjustment cycles"


def test_yaml_roundtrip(tmp_path):
    p = tmp_path / "cb.yaml"
    p.write_text("name: study\ncodes:\n  - name: Cost\n    definition: Money as a barrier\n    examples: [too expensive]\n"
                 "  - name: Bus fare\n    definition: Transport cost\n    parent: Cost\n")
    cb = load_codebook(p)
    assert cb.name == "study" and cb.get("Bus fare").parent == "Cost" and cb.get("Cost").examples == ("too expensive",)
    p2 = tmp_path / "cb2.yaml"
    p2.write_text(codebook_to_yaml(cb))
    assert load_codebook(p2).codes == cb.codes


def test_csv_with_name_column_and_examples(tmp_path):
    p = tmp_path / "cb.csv"
    p.write_text("name,definition,examples,threshold\nCost,Money,too dear|no cash,0.3\nTrust,Trust in staff,,\n")
    cb = load_codebook(p)
    assert cb.get("Cost").examples == ("too dear", "no cash") and cb.get("Cost").threshold == 0.3


@pytest.mark.parametrize("content,ext,match,line", [
    ("codes:\n  - name: A\n    definition: x\n  - name: a\n    definition: y\n", ".yaml", "duplicate code 'a'", 4),
    ("codes:\n  - name: A\n    definition: x\n  - name: B\n    defintion: y\n", ".yaml",
     r"code 'B': unknown key 'defintion' \(did you mean 'definition'\?\)", 4),
    ("codes:\n  - name: A\n    definition: x\n    parent: Zed\n", ".yaml", "unknown parent 'Zed'", 2),
    ("code,defintion\nA,x\nB,\n", ".csv", r"unknown column 'defintion' \(did you mean 'definition'\?\)", 1),
    ('[{"name": "A"},\n {"name": "B", "exampels": ["b"]}]', ".json", "did you mean 'examples'", 2),
    ('[{"name": "A", "colour": "red"}]', ".json", "did you mean 'color'", 1),
    ("codes:\n  - name: A\n    notes: a memo\n", ".yaml", "unknown key 'notes'; codebook keys: name", 2),
    ("codes: [\n", ".yaml", "not valid YAML", None),
])
def test_validation_names_line_and_problem(tmp_path, content, ext, match, line):
    p = tmp_path / f"cb{ext}"
    p.write_text(content)
    with pytest.raises(InputError, match=match) as ei:
        load_codebook(p)
    assert str(p) in str(ei.value)
    if line is not None:
        assert f"line {line}" in str(ei.value)


def test_missing_empty_and_unknown_format(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_codebook(tmp_path / "nope.yaml")
    (tmp_path / "e.json").write_text("  ")
    with pytest.raises(InputError, match="empty"):
        load_codebook(tmp_path / "e.json")
    (tmp_path / "cb.txt").write_text("x")
    with pytest.raises(InputError, match="unknown codebook format"):
        load_codebook(tmp_path / "cb.txt")
    (tmp_path / "cols.csv").write_text("label,definition\nA,x\n")
    with pytest.raises(InputError, match="`code` or `name` column"):
        load_codebook(tmp_path / "cols.csv")


def test_undecodable_and_deeply_nested_are_input_errors(tmp_path):
    (tmp_path / "b.yaml").write_bytes(b"codes:\n\x81\x8d")
    with pytest.raises(InputError, match="offset"):
        load_codebook(tmp_path / "b.yaml")
    for ext, n in ((".json", 5000), (".yaml", 5000)):
        (tmp_path / f"deep{ext}").write_bytes(b"[" * n)
        with pytest.raises(InputError, match=f"deep{ext}"):
            load_codebook(tmp_path / f"deep{ext}")


@pytest.mark.parametrize("content,ext", [
    ("codes:\n  - Cost\n  - Trust in staff\n", ".yaml"),
    ("- Cost\n- Trust in staff\n", ".yml"),
    ('["Cost", "Trust in staff"]', ".json"),
    ("code\nCost\nTrust in staff\n", ".csv"),
    ("code,definition\nCost,\nTrust in staff,\n", ".csv"),
    ("codes:\n  Cost:\n  Trust in staff:\n", ".yaml"),
    ("codes:\n  - name: Cost\n  - name: Trust in staff\n", ".yaml"),
])
def test_bare_names_are_codes_whose_name_is_the_text(tmp_path, content, ext):
    p = tmp_path / f"cb{ext}"
    p.write_text(content)
    cb = load_codebook(p)
    assert cb.names() == ["Cost", "Trust in staff"]
    assert all(c.definition == "" for c in cb.codes)


def test_bare_names_code_by_their_name(tmp_path):
    from qualcode.coding.similarity import code_texts

    p = tmp_path / "cb.yaml"
    p.write_text("- Cost\n- Trust\n")
    cb = load_codebook(p)
    assert code_texts(cb.get("Cost"), ["name", "definition", "examples"]) == ["Cost"]


def test_one_resolver_for_files_and_stored_codebooks(tmp_path):
    from qualcode.codebook import read_codebook
    from qualcode.project import init_project

    p = tmp_path / "cb.json"
    p.write_text('["Cost: money", "Trust"]')
    project = init_project(tmp_path / "proj")
    try:
        cb, source = read_codebook(p, project.store)
        assert source == str(p.resolve()) and cb.names() == ["Cost", "Trust"]
        stored = project.store.add_codebook(cb.__class__(name="study.v2", codes=cb.codes))
        again, source = read_codebook("study.v2", project.store)  # a stored name with a dot is not a file
        assert again.id == stored.id and source is None
        with pytest.raises(InputError, match=r"no codebook file 'nope' and no stored codebook.*stored: study.v2"):
            read_codebook("nope", project.store)
    finally:
        project.close()
