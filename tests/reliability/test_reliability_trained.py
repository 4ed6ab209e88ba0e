"""The trained coder: held-out scoring only, single- and multi-label, store path."""

from __future__ import annotations

import json
import numpy as np
import pytest

from qualcode.errors import InputError
from qualcode.reliability.compare import compare
from qualcode.exchange.human_codes import import_codes
from qualcode.reliability.trained import (
    MultiLabelCoder,
    SingleLabelCoder,
    _best_threshold,
    code_with_human_examples,
    cross_validate,
    human_examples,
    train_coder,
)
from qualcode.stats import cohen_kappa_score


def clusters(n_per=20, k=3, d=8, seed=0, spread=0.3):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)) * 3
    X = np.vstack([centers[j] + rng.normal(scale=spread, size=(n_per, d)) for j in range(k)])
    y = [f"c{j}" for j in range(k) for _ in range(n_per)]
    return X, y


class Recorder:
    """A model that remembers which rows (by an id column) it was fit on and scored."""

    log: list = []

    def __init__(self, inner):
        self.inner = inner

    def fit(self, X, *a):
        self.fit_ids = set(X[:, 0].astype(int).tolist())
        self.inner.fit(X[:, 1:], *a)
        return self

    def predict_proba(self, X):
        ids = set(X[:, 0].astype(int).tolist())
        Recorder.log.append((self.fit_ids, ids))
        return self.inner.predict_proba(X[:, 1:])

    def predict(self, X):
        return self.inner.predict(X[:, 1:])

    def describe(self):
        return {}


@pytest.mark.parametrize("mode", ["single", "multi"])
def test_no_unit_is_scored_by_a_model_trained_on_it(mode):
    X, y = clusters(n_per=12)
    labels = y if mode == "single" else [{v} | ({"extra"} if i % 3 == 0 else set()) for i, v in enumerate(y)]
    Xid = np.hstack([np.arange(len(y))[:, None], X])
    Recorder.log = []
    inner = (lambda: SingleLabelCoder(Cs=(0.1,))) if mode == "single" else (lambda: MultiLabelCoder(Cs=(0.1,)))
    res = cross_validate(Xid, labels, mode=mode, folds=4, seed=1, model_factory=lambda: Recorder(inner()))
    n = len(y)
    # the fold indices the function exposes: disjoint, and every unit tested exactly once
    tested = np.concatenate([f.test for f in res.folds])
    assert sorted(tested.tolist()) == list(range(n))
    for f in res.folds:
        assert not set(f.train.tolist()) & set(f.test.tolist())
        assert len(f.train) + len(f.test) == n
    # and what the models actually saw agrees with them
    assert len(Recorder.log) == 4
    for (fit_ids, scored), f in zip(Recorder.log, res.folds):
        assert fit_ids == set(f.train.tolist()) and scored == set(f.test.tolist())
        assert not fit_ids & scored


def test_memorised_noise_does_not_score_well_out_of_fold():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 100))
    y = ["a" if v else "b" for v in rng.integers(0, 2, 60)]
    model = SingleLabelCoder(Cs=(100.0,)).fit(X, np.array([v == "a" for v in y], dtype=int), 2)
    train_pred = model.predict(X)
    assert np.mean(train_pred == np.array([v == "a" for v in y], dtype=int)) > 0.95  # it can memorise
    res = cross_validate(X, y, folds=5, seed=0, Cs=(100.0,))
    assert res.overall["cohen_kappa"] < 0.4  # but held-out scoring does not reward memorising


def test_single_label_learns_clusters_and_reports_per_code():
    X, y = clusters()
    res = cross_validate(X, y, folds=5, seed=0)
    assert res.mode == "single" and res.codes == ["c0", "c1", "c2"]
    assert res.overall["accuracy"] == 1.0 and res.overall["cohen_kappa"] == 1.0
    assert set(res.per_code["c1"]) >= {"support", "cohen_kappa", "f1", "precision", "recall"}
    pred = [res.codes[j] for j in res.predicted.argmax(axis=1)]
    assert res.overall["cohen_kappa"] == pytest.approx(cohen_kappa_score(y, pred))
    assert all("C" in f.params for f in res.folds)


def test_multi_label_thresholds_and_rare_codes():
    X, y = clusters(n_per=20)
    labels = [{v} for v in y]
    for i in range(0, 20, 2):
        labels[i] = labels[i] | {"c1"}  # c1 also on half of c0: not separable, threshold matters
    labels[45] = labels[45] | {"rare"}
    res = cross_validate(X, labels, folds=4, seed=0)
    assert res.mode == "multi" and "rare" in res.codes
    assert res.per_code["c2"]["f1"] == 1.0
    assert res.per_code["rare"]["support"] == 1 and res.per_code["rare"]["predicted"] == 0
    assert res.overall["micro_f1"] > 0.8


def test_best_threshold_maximises_f1():
    y = np.array([1, 1, 0, 1, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.2, 0.1])
    t, f1 = _best_threshold(y, p)
    assert 0.2 < t < 0.6 and f1 == pytest.approx(2 * 3 / (2 * 3 + 1))


def test_cross_validate_rejects_bad_input():
    X, y = clusters(n_per=2)
    with pytest.raises(InputError, match="needs at least 10 coded units"):
        cross_validate(X, y, folds=5)
    with pytest.raises(InputError, match="mode must be one of"):
        cross_validate(X, y, mode="best")
    with pytest.raises(InputError, match="exactly one code per unit"):
        cross_validate(np.zeros((12, 2)), [{"a", "b"}] * 12, mode="single", folds=2)


def test_train_coder_from_the_store_codes_the_rest_as_a_run(project, tmp_path):
    store = project.store
    segs = [s for s in store.segments() if s.speakers != ("MODERATOR",)]
    key = {"Cost": ("bus", "clinic", "fare", "Transport"), "Trust": ("trust", "nurse", "listens"),
           "Food": ("food", "meals")}
    rows = ["segment_id,code"]
    human = segs[:8]  # fg1 and the first of fg2
    for s in human:
        for code, words in key.items():
            if any(w in s.text for w in words):
                rows.append(f"{s.id},{code}")
    (tmp_path / "h.csv").write_text("\n".join(rows) + "\n")
    import_codes(project, tmp_path / "h.csv", coder="ann", scope="segments")
    res = train_coder(project, "ann", folds=2, seed=0, min_positives=2, mode="multi",
                      codebook=project.test_dir / "cb.yaml")
    assert res.cv.mode == "multi" and res.n_labeled == 8
    rest = {s.id for s in segs} - {s.id for s in human}
    run = store.run(res.run_id)
    assert run.step == "train" and set(run.params["segment_ids"]) == rest and res.n_targets == len(rest)
    assert run.summary["cv"]["overall"]["n_units"] == 8 and run.seed == 0
    # the step contract: the stored run, its summary, a JSON-ready dict naming the run
    from qualcode.types import StepResult

    assert isinstance(res, StepResult) and res.run.id == res.run_id and res.summary == dict(run.summary)
    d = res.to_dict()
    assert d["run"] == res.run_id and d["n_targets"] == len(rest) and d["cv"]["n_units"] == 8
    json.dumps(d)
    for c in store.codings(run_id=res.run_id):
        assert c["segment_id"] in rest and c["evidence"]["method"] == "trained" and 0 <= c["score"] <= 1
    # agreement with the run is over the segments it coded (none of them the human's)
    comp = compare(f"run:{res.run_id}", "ann", project=project, n_boot=0)
    assert comp.overall["n_units"] == 0
    ex = human_examples(project, "ann", max_per_code=1)
    assert set(ex) <= {"Cost", "Trust", "Food"} and all(len(v) == 1 for v in ex.values())
    enriched = code_with_human_examples(project, project.test_dir / "cb.yaml", "ann", show_progress=False)
    assert store.run(enriched.run_id).params["extra_examples"] == {c: len(v) for c, v in
                                                                    human_examples(project, "ann").items()}
    with pytest.raises(InputError, match="no code with at least 50"):
        train_coder(project, "ann", folds=2, min_positives=50)
