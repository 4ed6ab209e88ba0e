"""Outer cross-validation of the trained coder: every model of a fold, inner tuning
included, sees only that fold's training rows; :attr:`CVResult.folds` records the rows
given to ``fit`` and to ``predict``."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from qualcode.errors import InputError, QualcodeError
from qualcode.reliability.trained.models import DEFAULT_CS, MODES, MultiLabelCoder, SingleLabelCoder
from qualcode.stats import agreement_report, binary_agreement, classification_report_dict, label_agreement


@dataclass(frozen=True)
class Fold:
    """One outer fold: the rows its models were fit on and the rows they scored."""

    index: int
    train: np.ndarray
    test: np.ndarray
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class CVResult:
    """Out-of-fold evaluation of a trained coder (see module docstring)."""

    mode: str
    codes: list[str]
    folds: list[Fold]
    proba: np.ndarray  # (n, k) out-of-fold probabilities
    predicted: np.ndarray  # (n, k) bool, out-of-fold decisions
    truth: np.ndarray  # (n, k) bool
    per_code: dict[str, dict[str, Any]]
    overall: dict[str, Any]
    seed: int | None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "folds": len(self.folds), "seed": self.seed, "n_units": int(self.truth.shape[0]),
                "overall": self.overall, "per_code": self.per_code, "notes": self.notes,
                "fold_params": [dict(f.params) for f in self.folds]}


def _as_label_matrix(labels: Sequence[Any], codes: Sequence[str] | None, mode: str
                     ) -> tuple[str, list[str], np.ndarray]:
    sets = []
    for _i, lab in enumerate(labels):
        if isinstance(lab, (set, frozenset, list, tuple)):
            sets.append(frozenset(lab))
        elif lab is None:
            sets.append(frozenset())
        else:
            sets.append(frozenset([lab]))
    used = sorted({c for s in sets for c in s}, key=str)
    code_list = list(codes) if codes is not None else used
    if mode == "auto":
        mode = "single" if all(len(s) == 1 for s in sets) else "multi"
    if mode == "single":
        bad = [i for i, s in enumerate(sets) if len(s & set(code_list)) != 1]
        if bad:
            raise InputError(f"single-label mode needs exactly one code per unit; unit #{bad[0]} has "
                             f"{len(sets[bad[0]] & set(code_list))}", hint="use mode='multi'")
    Y = np.array([[c in s for c in code_list] for s in sets], dtype=bool).reshape(len(sets), len(code_list))
    return mode, code_list, Y


def outer_splits(Y: np.ndarray, mode: str, folds: int, seed: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified outer folds: by label (single), or by each unit's rarest code (multi;
    strata smaller than ``folds`` pooled)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    n = Y.shape[0]
    if mode == "single":
        key = Y.argmax(axis=1)
    else:
        freq = Y.sum(axis=0)
        key = np.full(n, -1)
        for i in range(n):
            on = np.nonzero(Y[i])[0]
            if len(on):
                key[i] = on[np.argmin(freq[on])]
        vals, counts = np.unique(key, return_counts=True)
        small = set(vals[counts < folds].tolist())
        key = np.array([-2 if k in small else k for k in key])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(n), key))
        except ValueError:
            return list(KFold(folds, shuffle=True, random_state=seed).split(np.zeros(n)))


def cross_validate(
    X: np.ndarray,
    labels: Sequence[Any],
    *,
    codes: Sequence[str] | None = None,
    mode: str = "auto",
    folds: int = 5,
    seed: int | None = 0,
    inner_folds: int = 3,
    Cs: Sequence[float] = DEFAULT_CS,
    model_factory: Callable[[], Any] | None = None,
) -> CVResult:
    """Cross-validated agreement of a trained coder with the human labels.

    Parameters
    ----------
    X : ndarray (n, d)
        Features (e.g. :func:`features`).
    labels : sequence
        Per unit a code (single-label) or a set of codes (an empty set: no code).
    codes : sequence of str, optional
        Code order (default: the codes in ``labels``, sorted).
    mode : {"auto", "multi", "single"}
        ``auto``: single when every unit has exactly one code.
    folds, seed
        Outer stratified k-fold, shuffled with ``seed``.
    inner_folds, Cs
        Inner cross-validation (within each outer training part) for ``C`` and thresholds.
    model_factory : callable, optional
        Returns a fresh model with ``fit``/``predict_proba``/``predict`` (default:
        :class:`SingleLabelCoder` or :class:`MultiLabelCoder`).

    Returns
    -------
    CVResult
        ``folds[i].train`` / ``.test`` are the row indices given to ``fit`` and to
        ``predict`` in fold ``i``.
    """
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] != len(labels):
        raise InputError(f"X must be a matrix with one row per label; got shape {X.shape} for {len(labels)} labels")
    if int(folds) < 2:
        raise InputError(f"folds must be at least 2; got {folds!r}")
    mode, code_list, Y = _as_label_matrix(labels, codes, mode)
    n, k = Y.shape
    if n < 2 * folds:
        raise InputError(f"cross-validation with {folds} folds needs at least {2 * folds} coded units; got {n}",
                         hint="code more segments, or use fewer folds (parameter folds; --folds in the CLI)")
    notes: list[str] = []
    if mode == "single":
        counts = Y.sum(axis=0)
        rare = [code_list[j] for j in range(k) if 0 < counts[j] < folds]
        if rare:
            notes.append(f"{len(rare)} code(s) have fewer than {folds} units, so some folds cannot test them: "
                         + ", ".join(map(str, rare)))

    def factory():
        if model_factory is not None:
            return model_factory()
        cls = SingleLabelCoder if mode == "single" else MultiLabelCoder
        return cls(Cs=Cs, inner_folds=inner_folds, seed=seed)

    proba, predicted, fold_records = _run_folds(X, Y, mode, outer_splits(Y, mode, int(folds), seed), factory)
    per_code = _per_code_scores(Y, predicted, code_list)
    overall = _overall_scores(Y, predicted, code_list, mode, per_code)
    return CVResult(mode=mode, codes=[str(c) for c in code_list], folds=fold_records, proba=proba,
                    predicted=predicted, truth=Y, per_code=per_code, overall=overall, seed=seed, notes=notes)


def _run_folds(X: np.ndarray, Y: np.ndarray, mode: str, splits: Sequence[tuple[np.ndarray, np.ndarray]],
               factory: Callable[[], Any]) -> tuple[np.ndarray, np.ndarray, list[Fold]]:
    """Fit a fresh model per outer fold on its training rows and score its test rows:
    ``(out-of-fold probabilities, decisions, fold records)``."""
    n, k = Y.shape
    proba = np.zeros((n, k))
    predicted = np.zeros((n, k), dtype=bool)
    scored = np.zeros(n, dtype=np.int64)
    fold_records: list[Fold] = []
    for i, (train, test) in enumerate(splits):
        if np.intersect1d(train, test).size:  # pragma: no cover - a splitter bug
            raise QualcodeError("internal error: a fold's training and test rows overlap")
        model = factory()
        if mode == "single":
            model.fit(X[train], Y[train].argmax(axis=1), k)
        else:
            model.fit(X[train], Y[train])
        proba[test] = model.predict_proba(X[test])
        if mode == "multi":
            predicted[test] = model.predict(X[test])
        scored[test] += 1
        params = model.describe() if hasattr(model, "describe") else {}
        fold_records.append(Fold(index=i, train=np.asarray(train).copy(), test=np.asarray(test).copy(),
                                 params=params))
    if not np.all(scored == 1):  # pragma: no cover
        raise QualcodeError("internal error: every unit must be scored exactly once")
    if mode == "single":
        predicted[np.arange(n), proba.argmax(axis=1)] = True
    return proba, predicted, fold_records


def _per_code_scores(Y: np.ndarray, predicted: np.ndarray, code_list: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """Per code: support, predicted count, Cohen's kappa, precision, recall, F1."""
    per_code: dict[str, dict[str, Any]] = {}
    for j, code in enumerate(code_list):
        res = binary_agreement(Y[:, j].tolist(), predicted[:, j].tolist(), n_boot=0)
        tp = int(np.sum(Y[:, j] & predicted[:, j]))
        fp = int(np.sum(~Y[:, j] & predicted[:, j]))
        fn = int(np.sum(Y[:, j] & ~predicted[:, j]))
        per_code[str(code)] = {
            "support": int(Y[:, j].sum()), "predicted": int(predicted[:, j].sum()),
            "cohen_kappa": res.cohen_kappa, "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / (tp + fn) if tp + fn else None,
            "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None,
        }
    return per_code


def _overall_scores(Y: np.ndarray, predicted: np.ndarray, code_list: Sequence[Any], mode: str,
                    per_code: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Accuracy, macro-F1, kappa and alpha (single); pooled and mean kappa, micro- and
    macro-F1 (multi)."""
    n = Y.shape[0]
    if mode == "single":
        truth_lab = [code_list[j] for j in Y.argmax(axis=1)]
        pred_lab = [code_list[j] for j in predicted.argmax(axis=1)]
        rep = classification_report_dict(truth_lab, pred_lab, labels=code_list)
        lab = label_agreement(truth_lab, pred_lab, categories=code_list, n_boot=0)
        return {"n_units": n, "accuracy": rep["accuracy"], "macro_f1": rep["macro_f1"],
                "cohen_kappa": lab.cohen_kappa, "krippendorff_alpha": lab.krippendorff_alpha}
    ua = {i: {code_list[j] for j in np.nonzero(Y[i])[0]} for i in range(n)}
    ub = {i: {code_list[j] for j in np.nonzero(predicted[i])[0]} for i in range(n)}
    rep = agreement_report(ua, ub, code_list, n_boot=0)
    tp = int(np.sum(Y & predicted))
    fp = int(np.sum(~Y & predicted))
    fn = int(np.sum(Y & ~predicted))
    f1s = [v["f1"] for v in per_code.values() if v["support"]]
    return {"n_units": n, "pooled_cohen_kappa": rep.overall.cohen_kappa, "mean_cohen_kappa": rep.mean_cohen_kappa,
            "micro_f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None,
            "macro_f1": float(np.mean([f or 0.0 for f in f1s])) if f1s else None}
