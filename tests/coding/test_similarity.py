import numpy as np
import pytest

from qualcode.coding.similarity import assign, calibrate_scores, code_texts
from qualcode.errors import InputError
from qualcode.types import Code


def _pairs(a):
    return sorted(zip(a.rows.tolist(), a.cols.tolist()))


def test_argmax_picks_best_and_respects_threshold():
    s = np.array([[0.5, 0.3], [0.1, 0.05], [0.2, 0.4]])
    a = assign(s, mode="argmax", threshold=0.15, calibrate="none")
    assert _pairs(a) == [(0, 0), (2, 1)]  # row 1 has nothing above 0.15: no code
    assert a.scores.tolist() == pytest.approx([0.5, 0.4])


def test_multi_keeps_codes_within_margin_up_to_max():
    s = np.array([[0.50, 0.48, 0.47, 0.10]])
    assert _pairs(assign(s, mode="multi", threshold=0.2, margin=0.05, max_codes=3, calibrate="none")) == [(0, 0), (0, 1), (0, 2)]
    assert _pairs(assign(s, mode="multi", threshold=0.2, margin=0.05, max_codes=2, calibrate="none")) == [(0, 0), (0, 1)]
    assert _pairs(assign(s, mode="multi", threshold=0.2, margin=0.01, calibrate="none")) == [(0, 0)]


def test_multi_top_code_equals_argmax_top_code():
    rng = np.random.default_rng(0)
    s = rng.uniform(0, 0.6, size=(200, 12)).astype(np.float32)
    am = assign(s, mode="argmax", threshold=0.0)
    mu = assign(s, mode="multi", threshold=0.0)
    best_mu = {}
    for r, c, cal in zip(mu.rows, mu.cols, mu.calibrated):
        if r not in best_mu or cal > best_mu[r][1]:
            best_mu[r] = (c, cal)
    assert {r: c for r, c in zip(am.rows.tolist(), am.cols.tolist())} == {r: c for r, (c, _) in best_mu.items()}


def test_per_code_threshold_overrides_global():
    s = np.array([[0.5, 0.49]])
    a = assign(s, mode="multi", threshold=0.2, margin=0.05, code_thresholds=[None, 0.6], calibrate="none")
    assert _pairs(a) == [(0, 0)]


def test_scores_mode_returns_every_passing_code():
    s = np.array([[0.5, 0.3, 0.1]])
    assert _pairs(assign(s, mode="scores", threshold=0.2, calibrate="none")) == [(0, 0), (0, 1)]


def test_centering_removes_code_bias():
    # code 1 is similar to everything; centering lets code 0 win where it is relatively strong
    s = np.tile(np.array([[0.2, 0.45]]), (30, 1)).astype(np.float32)
    s[0, 0] = 0.44
    a = assign(s, mode="argmax", threshold=0.0, calibrate="center")
    assert dict(zip(a.rows.tolist(), a.cols.tolist()))[0] == 0
    assert assign(s, mode="argmax", threshold=0.0, calibrate="none").cols[0] == 1


def test_centering_skipped_for_tiny_corpora():
    s = np.array([[0.5, 0.1]])
    assert np.array_equal(calibrate_scores(s, "center"), s)


@pytest.mark.parametrize("kw,match", [({"mode": "best"}, "mode must be one of"), ({"margin": -1}, "margin"),
                                      ({"max_codes": 0}, "max_codes"), ({"calibrate": "zscore"}, "calibrate")])
def test_bad_parameters_named(kw, match):
    with pytest.raises(InputError, match=match):
        assign(np.ones((25, 2)), **kw)


def test_code_texts_representation():
    c = Code(name="Cost", definition="Money as a barrier", examples=("too dear",))
    assert code_texts(c, ["name", "definition", "examples"]) == ["Cost: Money as a barrier", "Cost", "too dear"]
    assert code_texts(c, ["name"]) == ["Cost"]
    with pytest.raises(InputError, match="represent"):
        code_texts(c, ["colour"])


def test_multi_never_exceeds_max_codes_even_with_ties():
    s = np.full((3, 6), 0.5, dtype=np.float32)
    a = assign(s, mode="multi", threshold=0.1, margin=0.05, max_codes=2, calibrate="none")
    assert _pairs(a) == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]


def test_blocked_assignment_matches_unblocked(monkeypatch):
    import qualcode.coding.similarity as sim

    rng = np.random.default_rng(3)
    s = rng.uniform(-0.1, 0.6, size=(1000, 15)).astype(np.float32)
    full = {m: _pairs(assign(s, mode=m, threshold=0.2)) for m in ("argmax", "multi", "scores")}
    monkeypatch.setattr(sim, "_BLOCK", 97)
    for m, expected in full.items():
        assert _pairs(assign(s, mode=m, threshold=0.2)) == expected
