"""A coder trained on human-coded segments, cross-validated on held-out folds.

Features
    The stored segment embedding, plus its cosine similarity to each code's
    zero-shot representation (the codebook's texts, or the code name), standardised
    with statistics of the training rows only.
Models
    ``multi`` (any number of codes per segment): per code, a class-weighted logistic
    regression whose ``C`` is chosen by inner cross-validation, averaged with a
    shrinkage (Ledoit-Wolf) linear discriminant; the code's decision threshold is
    the one that maximises F1 on the inner cross-validation's out-of-fold
    probabilities. ``single`` (one code per segment): the same two models,
    multinomial, ``C`` chosen by inner cross-validation on macro-F1, argmax decision.
Evaluation
    Outer stratified k-fold (shuffled, seeded). Every model of a fold, including
    its inner tuning, sees only that fold's training rows, and scores only its test
    rows: :attr:`CVResult.folds` records the exact row indices passed to ``fit`` and
    to ``predict``, so a test can check that no segment is scored by a model trained
    on it. Reported per code: Cohen's kappa, precision, recall, F1 on the out-of-fold
    predictions; overall: accuracy, macro-F1 and kappa (single) or pooled and mean
    kappa, micro/macro-F1 (multi).

:func:`cross_validate` works on a matrix (used by ``benchmarks/bench_trained.py``);
:func:`train_coder` does it from the store and then codes the segments the human did
not, as a ``train`` run. scikit-learn is required (``pip install scikit-learn``).
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from qualcode.errors import InputError, QualcodeError

DEFAULT_CS = (0.003, 0.01, 0.03, 0.1)
MODES = ("auto", "multi", "single")
STEP = "train"
MODEL_DESCRIPTION = ("mean of the probabilities of a class-weighted logistic regression (C by inner CV) and a "
                     "shrinkage LDA, on standardised [embedding, similarity to each code]")


def _sklearn():
    try:
        import sklearn  # noqa: F401
    except ImportError as exc:  # pragma: no cover - sklearn is installed with the test extra
        raise QualcodeError("the trained coder needs scikit-learn, which is not installed",
                            hint="pip install scikit-learn") from exc


def single_thread():
    """BLAS/OpenMP limited to one thread while fitting: on small matrices extra
    threads only contend (measured 20x slower with 2 threads on a 2-core machine)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(1)


class _Scaler:
    def fit(self, X: np.ndarray) -> "_Scaler":
        self.mean_ = X.mean(axis=0)
        sd = X.std(axis=0)
        self.scale_ = np.where(sd > 1e-8, sd, 1.0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean_) / self.scale_


def _lr(C: float, seed: int | None, max_iter: int = 2000):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, class_weight="balanced", max_iter=max_iter, random_state=seed)


def _fit_lda(Z: np.ndarray, y: np.ndarray):
    """A shrinkage LDA fitted on ``(Z, y)``, or None when the data cannot support one
    (one class, or no more rows than classes); the LR then decides alone."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    if len(np.unique(y)) < 2 or len(y) <= len(np.unique(y)):
        return None
    try:
        return LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto").fit(Z, y)
    except (ValueError, np.linalg.LinAlgError):  # pragma: no cover - degenerate covariance
        return None


def _inner_splits(y: np.ndarray, n_splits: int, seed: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def _macro_f1(y: np.ndarray, pred: np.ndarray, k: int) -> float:
    f1s = []
    for c in range(k):
        tp = np.sum((y == c) & (pred == c))
        den = np.sum(y == c) + np.sum(pred == c)
        if np.sum(y == c):
            f1s.append(2 * tp / den if den else 0.0)
    return float(np.mean(f1s)) if f1s else 0.0


def _best_threshold(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """(threshold, F1) maximising F1 of ``p >= threshold`` against binary ``y``."""
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order].astype(np.int64)
    tp = np.cumsum(ys)
    fp = np.cumsum(1 - ys)
    pos = int(ys.sum())
    if pos == 0:
        return 1.0 + 1e-9, 0.0
    # candidate cut after each distinct probability
    last = np.r_[ps[1:] != ps[:-1], True]
    f1 = 2 * tp / (tp + fp + pos)
    f1 = np.where(last, f1, -1.0)
    i = int(np.argmax(f1))
    nxt = ps[i + 1] if i + 1 < len(ps) else ps[i] - 1e-6
    return float((ps[i] + nxt) / 2.0), float(f1[i])


# ------------------------------------------------------------------------------ models
class SingleLabelCoder:
    """One label per unit: class-weighted multinomial LR (C by inner CV) + shrinkage
    LDA, probabilities averaged.

    Parameters
    ----------
    Cs : sequence of float
        Inverse regularisation strengths tried by the inner cross-validation.
    inner_folds : int
        Folds of the inner cross-validation (within the training rows only).
    seed : int or None
        Seed of the inner splits and the solvers.
    """

    def __init__(self, *, Cs: Sequence[float] = DEFAULT_CS, inner_folds: int = 3, seed: int | None = 0) -> None:
        self.Cs = tuple(Cs)
        self.inner_folds = inner_folds
        self.seed = seed

    def _fit_pair(self, Z: np.ndarray, y: np.ndarray, C: float):
        return _lr(C, self.seed).fit(Z, y), _fit_lda(Z, y)

    @staticmethod
    def _proba(models, Z: np.ndarray, k: int) -> np.ndarray:
        out = np.zeros((Z.shape[0], k))
        lr, lda = models
        out[:, lr.classes_] += lr.predict_proba(Z)
        if lda is not None:
            out[:, lda.classes_] += lda.predict_proba(Z)
            out /= 2.0
        return out

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int | None = None) -> "SingleLabelCoder":
        """``y``: integer labels ``0..n_classes-1``."""
        _sklearn()
        y = np.asarray(y, dtype=np.int64)
        self.n_classes_ = int(n_classes if n_classes is not None else y.max() + 1)
        self.scaler_ = _Scaler().fit(X)
        Z = self.scaler_.transform(X)
        self.cv_scores_: dict[float, float] = {}
        counts = np.bincount(y, minlength=self.n_classes_)
        n_inner = min(self.inner_folds, int(counts[counts > 0].max()))
        with single_thread(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if len(self.Cs) > 1 and n_inner >= 2 and len(np.unique(y)) > 1:
                preds = {C: np.zeros(len(y), dtype=np.int64) for C in self.Cs}
                for tr, te in _inner_splits(y, n_inner, self.seed):
                    sc = _Scaler().fit(X[tr])
                    Ztr, Zte = sc.transform(X[tr]), sc.transform(X[te])
                    lda = _fit_lda(Ztr, y[tr])  # does not depend on C: fitted once per split
                    for C in self.Cs:
                        m = (_lr(C, self.seed).fit(Ztr, y[tr]), lda)
                        preds[C][te] = self._proba(m, Zte, self.n_classes_).argmax(axis=1)
                for C in self.Cs:
                    self.cv_scores_[C] = _macro_f1(y, preds[C], self.n_classes_)
                self.C_ = max(self.Cs, key=lambda c: (self.cv_scores_[c], -c))
            else:
                self.C_ = self.Cs[len(self.Cs) // 2]
            self.models_ = self._fit_pair(Z, y, self.C_)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        with single_thread():
            return self._proba(self.models_, self.scaler_.transform(X), self.n_classes_)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)

    def describe(self) -> dict[str, Any]:
        return {"C": self.C_, "inner_macro_f1": {str(k): round(v, 4) for k, v in self.cv_scores_.items()}}


class MultiLabelCoder:
    """Any number of codes per unit: per code, class-weighted binary LR (C by inner
    CV) + shrinkage LDA, probabilities averaged, and a threshold maximising F1 on the
    inner cross-validation's out-of-fold probabilities.

    Codes with fewer than two positives (or negatives) in the training rows get a
    constant model (never / always applied) and are noted in ``notes_``.
    """

    def __init__(self, *, Cs: Sequence[float] = DEFAULT_CS, inner_folds: int = 3, seed: int | None = 0) -> None:
        self.Cs = tuple(Cs)
        self.inner_folds = inner_folds
        self.seed = seed

    def _fit_pair(self, Z: np.ndarray, y: np.ndarray, C: float):
        return _lr(C, self.seed).fit(Z, y), _fit_lda(Z, y)

    @staticmethod
    def _proba(models, Z: np.ndarray) -> np.ndarray:
        lr, lda = models
        p = lr.predict_proba(Z)[:, 1]
        return p if lda is None else (p + lda.predict_proba(Z)[:, 1]) / 2.0

    def fit(self, X: np.ndarray, Y: np.ndarray) -> "MultiLabelCoder":
        _sklearn()
        Y = np.asarray(Y, dtype=bool)
        self.n_codes_ = Y.shape[1]
        self.scaler_ = _Scaler().fit(X)
        Z = self.scaler_.transform(X)
        self.models_: list[Any] = []
        self.thresholds_ = np.full(self.n_codes_, 0.5)
        self.C_: list[float | None] = []
        self.notes_: list[str] = []
        with single_thread(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for j in range(self.n_codes_):
                y = Y[:, j].astype(np.int64)
                pos, neg = int(y.sum()), int(len(y) - y.sum())
                if pos < 2 or neg < 2:
                    self.models_.append(float(pos >= len(y) / 2 and pos > 0))
                    self.C_.append(None)
                    self.notes_.append(f"code {j}: {pos} positive(s), {neg} negative(s) in training: constant model")
                    continue
                n_inner = min(self.inner_folds, pos, neg)
                best = (-1.0, self.Cs[len(self.Cs) // 2], 0.5)
                if n_inner >= 2:
                    oofs = {C: np.zeros(len(y)) for C in self.Cs}
                    for tr, te in _inner_splits(y, n_inner, self.seed):
                        if y[tr].sum() == 0 or y[tr].sum() == len(tr):
                            for C in self.Cs:
                                oofs[C][te] = y[tr].mean()
                            continue
                        sc = _Scaler().fit(X[tr])
                        Ztr, Zte = sc.transform(X[tr]), sc.transform(X[te])
                        lda = _fit_lda(Ztr, y[tr])
                        for C in self.Cs:
                            oofs[C][te] = self._proba((_lr(C, self.seed).fit(Ztr, y[tr]), lda), Zte)
                    for C in self.Cs:
                        t, f1 = _best_threshold(y, oofs[C])
                        if f1 > best[0] + 1e-12:
                            best = (f1, C, t)
                self.C_.append(best[1])
                self.thresholds_[j] = best[2]
                self.models_.append(self._fit_pair(Z, y, best[1]))
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        Z = self.scaler_.transform(X)
        out = np.zeros((X.shape[0], self.n_codes_))
        with single_thread():
            for j, m in enumerate(self.models_):
                out[:, j] = m if isinstance(m, float) else self._proba(m, Z)
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X) >= self.thresholds_[None, :]

    def describe(self) -> dict[str, Any]:
        return {"C": list(self.C_), "thresholds": [round(float(t), 4) for t in self.thresholds_]}


# ------------------------------------------------------------------------------ cross-validation
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
    from qualcode.stats import agreement_report, binary_agreement, classification_report_dict, label_agreement

    _sklearn()
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
                         hint="code more segments, or use fewer folds (--folds)")
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

    proba = np.zeros((n, k))
    scored = np.zeros(n, dtype=np.int64)
    fold_records: list[Fold] = []
    for i, (train, test) in enumerate(outer_splits(Y, mode, int(folds), seed)):
        if np.intersect1d(train, test).size:  # pragma: no cover - a splitter bug
            raise QualcodeError("internal error: a fold's training and test rows overlap")
        model = factory()
        if mode == "single":
            model.fit(X[train], Y[train].argmax(axis=1), k)
        else:
            model.fit(X[train], Y[train])
        proba[test] = model.predict_proba(X[test])
        if mode == "multi":
            proba_dec = model.predict(X[test])
        scored[test] += 1
        params = model.describe() if hasattr(model, "describe") else {}
        if mode == "multi":
            params = {**params, "_decisions": proba_dec}
        fold_records.append(Fold(index=i, train=np.asarray(train).copy(), test=np.asarray(test).copy(),
                                 params=params))
    if not np.all(scored == 1):  # pragma: no cover
        raise QualcodeError("internal error: every unit must be scored exactly once")
    if mode == "single":
        predicted = np.zeros((n, k), dtype=bool)
        predicted[np.arange(n), proba.argmax(axis=1)] = True
    else:
        predicted = np.zeros((n, k), dtype=bool)
        for f in fold_records:
            predicted[f.test] = f.params["_decisions"]
        fold_records = [Fold(f.index, f.train, f.test, {kk: v for kk, v in f.params.items() if kk != "_decisions"})
                        for f in fold_records]

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
    if mode == "single":
        truth_lab = [code_list[j] for j in Y.argmax(axis=1)]
        pred_lab = [code_list[j] for j in predicted.argmax(axis=1)]
        rep = classification_report_dict(truth_lab, pred_lab, labels=code_list)
        lab = label_agreement(truth_lab, pred_lab, categories=code_list, n_boot=0)
        overall = {"n_units": n, "accuracy": rep["accuracy"], "macro_f1": rep["macro_f1"],
                   "cohen_kappa": lab.cohen_kappa, "krippendorff_alpha": lab.krippendorff_alpha}
    else:
        ua = {i: {code_list[j] for j in np.nonzero(Y[i])[0]} for i in range(n)}
        ub = {i: {code_list[j] for j in np.nonzero(predicted[i])[0]} for i in range(n)}
        rep = agreement_report(ua, ub, code_list, n_boot=0)
        tp = int(np.sum(Y & predicted))
        fp = int(np.sum(~Y & predicted))
        fn = int(np.sum(Y & ~predicted))
        f1s = [v["f1"] for v in per_code.values() if v["support"]]
        overall = {"n_units": n, "pooled_cohen_kappa": rep.overall.cohen_kappa,
                   "mean_cohen_kappa": rep.mean_cohen_kappa,
                   "micro_f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None,
                   "macro_f1": float(np.mean([f or 0.0 for f in f1s])) if f1s else None}
    return CVResult(mode=mode, codes=[str(c) for c in code_list], folds=fold_records, proba=proba,
                    predicted=predicted, truth=Y, per_code=per_code, overall=overall, seed=seed, notes=notes)


def features(embeddings: np.ndarray, code_vectors: np.ndarray | None = None) -> np.ndarray:
    """``[embedding, cosine similarity to each code vector]`` (unit-normalised inputs)."""
    E = np.asarray(embeddings, dtype=np.float64)
    if code_vectors is None or len(code_vectors) == 0:
        return E
    return np.hstack([E, E @ np.asarray(code_vectors, dtype=np.float64).T])


# ------------------------------------------------------------------------------ store
@dataclass
class TrainResult:
    coder: str
    cv: CVResult
    run: Any
    n_labeled: int
    n_targets: int
    n_codings: int
    skipped_codes: dict[str, str]
    notes: list[str]

    @property
    def run_id(self) -> str:
        return self.run.id

    def to_dict(self) -> dict[str, Any]:
        return {"coder": self.coder, "run": self.run.id, "mode": self.cv.mode, "n_labeled": self.n_labeled,
                "n_targets": self.n_targets, "n_codings": self.n_codings, "skipped_codes": self.skipped_codes,
                "cv": self.cv.to_dict(), "notes": self.notes}


def _embedder(project: Any, embedding_model: str | None):
    return project.embedder(embedding_model)


def _code_vectors(project: Any, backend: Any, codes: Sequence[str], codebook: Any | None) -> np.ndarray:
    from qualcode.coding.similarity import code_vectors, pool
    from qualcode.embeddings import embed_texts

    def embed(texts: list[str]) -> np.ndarray:
        return embed_texts(project.store, backend, texts, show_progress=False)[0]

    if codebook is not None:
        represent = list(project.settings.get("coding", "represent", ["name", "definition", "examples"]))
        by_name = {c.name: c for c in codebook.codes}
        known = [by_name[c] for c in codes if c in by_name]
        vecs = dict(zip([c.name for c in known], code_vectors(known, embed, represent))) if known else {}
        missing = [c for c in codes if c not in vecs]
        if missing:
            for c, v in zip(missing, embed(list(missing))):
                vecs[c] = pool(v[None, :])
        return np.stack([vecs[c] for c in codes])
    return embed(list(codes))


def train_coder(
    project: Any,
    coder: str,
    *,
    folds: int = 5,
    seed: int | None = 0,
    mode: str = "auto",
    codebook: Any | None = None,
    embedding_model: str | None = None,
    inner_folds: int = 3,
    Cs: Sequence[float] = DEFAULT_CS,
    min_positives: int | None = None,
    apply: bool = True,
    skip_moderators: bool | None = None,
    show_progress: bool = False,
    selection: Any = None,
    segments: Sequence[Any] | None = None,
) -> TrainResult:
    """Train on a human coder's segments, cross-validate, and code the rest as a run.

    Parameters
    ----------
    project : Project
    coder : str
        The human coder whose codes are the training labels (segments they looked at
        and left uncoded are negatives in ``multi`` mode).
    folds, seed, inner_folds, Cs, mode
        See :func:`cross_validate`.
    codebook : Codebook, path or name, optional
        Gives the code order and the zero-shot texts used as similarity features
        (default: the code names).
    embedding_model : str, optional
        Default: the project's model.
    min_positives : int, optional
        Codes with fewer human positives are left out, with a note (default: 2 in
        ``single`` mode, where a rare label still takes part; ``folds`` in ``multi``
        mode, where each code's threshold is tuned on its own positives).
    apply : bool
        Code the current segments the human did not look at (moderator-only turns
        left out as in ``qualcode code``). The run is recorded either way, with the
        cross-validation results in its summary.
    selection : qualcode.coding.select.Selection, optional
        Narrows the segments ``apply`` codes (documents, ``where``, relevance);
        recorded with the run.
    segments : sequence of Segment or ids, optional
        The segments ``apply`` may code (default: every current segment).

    Returns
    -------
    TrainResult
    """
    from qualcode.coding.deductive import resolve_codebook
    from qualcode.embeddings import embed_texts
    from qualcode.coding.select import select
    from qualcode.provenance import hash_obj
    from qualcode.reliability.units import coder_source
    from qualcode.runs import RunRecorder
    from qualcode.types import Coding

    _sklearn()
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    store = project.store
    src = coder_source(project, coder)
    current = {s.id: s for s in store.segments()}
    notes: list[str] = list(src.notes)
    labeled_ids = sorted(int(u) for u in src.units if int(u) in current)
    dropped = len(src.units) - len(labeled_ids)
    if dropped:
        notes.append(f"{dropped} segment(s) the coder looked at are no longer current and were left out")
    cb = resolve_codebook(project, codebook) if codebook is not None else None
    counts: dict[str, int] = {}
    for sid in labeled_ids:
        for c in src.units[str(sid)]:
            counts[c] = counts.get(c, 0) + 1
    codes = cb.names() if cb is not None else sorted(counts)
    unknown = sorted(set(counts) - set(codes))
    if unknown:
        notes.append(f"codes not in the codebook ignored: {', '.join(unknown)}")
    if mode == "auto":
        mode = "single" if all(len(src.units[str(i)] & set(codes)) == 1 for i in labeled_ids) else "multi"
    if min_positives is None:
        min_positives = 2 if mode == "single" else int(folds)
    skipped = {c: f"{counts.get(c, 0)} human positive(s); needs at least {min_positives}"
               for c in codes if counts.get(c, 0) < min_positives}
    codes = [c for c in codes if c not in skipped]
    if not codes:
        raise InputError(f"coder {coder!r} has no code with at least {min_positives} coded segments to learn from",
                         hint="code more segments (e.g. with `qualcode sample --n N --out sheet.xlsx` and "
                              "`qualcode import-review sheet.xlsx --coder NAME`), "
                              "or lower --min-positives")
    labels = [frozenset(src.units[str(i)]) & set(codes) for i in labeled_ids]
    if mode == "single":
        keep = [i for i, lab in enumerate(labels) if len(lab) == 1]
        if len(keep) < len(labels):
            notes.append(f"single-label mode: {len(labels) - len(keep)} segment(s) without exactly one code left out")
        labeled_ids = [labeled_ids[i] for i in keep]
        labels = [labels[i] for i in keep]
    backend = _embedder(project, embedding_model)
    if skip_moderators is None:
        skip_moderators = bool(project.settings.get("coding", "skip_moderators", True))
    looked = {int(u) for u in src.units}
    chosen = select(project, selection, segments=segments, skip_moderators=skip_moderators,
                    embedding_model=embedding_model) \
        if apply else None
    targets = [s for s in chosen.segments if s.id not in looked] if chosen is not None else []
    segs = [current[i] for i in labeled_ids] + targets
    from qualcode.language import check_project_languages

    lang = check_project_languages(project, backend, segs, step="train")
    E, stats = embed_texts(store, backend, [s.text for s in segs], show_progress=show_progress,
                           desc="embedding segments")
    CV = _code_vectors(project, backend, codes, cb)
    F = features(E, CV)
    n_lab = len(labeled_ids)
    cv = cross_validate(F[:n_lab], labels, codes=codes, mode=mode, folds=folds, seed=seed,
                        inner_folds=inner_folds, Cs=Cs)
    cv.notes[:0] = notes
    model = (SingleLabelCoder if mode == "single" else MultiLabelCoder)(Cs=Cs, inner_folds=inner_folds, seed=seed)
    Y = cv.truth
    if mode == "single":
        model.fit(F[:n_lab], Y.argmax(axis=1), len(codes))
    else:
        model.fit(F[:n_lab], Y)
    params = {"coder": coder, "mode": mode, "folds": int(folds), "inner_folds": int(inner_folds), "Cs": list(Cs),
              "model": MODEL_DESCRIPTION, "codes": codes, "skipped_codes": skipped, "min_positives": min_positives,
              "codebook": None if cb is None else {"name": cb.name, "id": cb.id, "version": cb.version},
              "codebook_id": None if cb is None else cb.id,
              "n_labeled": n_lab, "apply": bool(apply), "skip_moderators": bool(skip_moderators),
              "segment_ids": [s.id for s in targets], "final_model": model.describe(),
              "languages": lang.to_dict()}
    if chosen is not None and chosen.record:
        params["selection"] = chosen.record
    label_hash = hash_obj([[i, sorted(lab)] for i, lab in zip(labeled_ids, labels)])
    rec = RunRecorder(store, STEP, params=params, backend=type(backend).__name__, model=backend.name,
                      model_version=backend.version, seed=seed, input_hash=label_hash)
    codings: list[Coding] = []
    if targets:
        P = model.predict_proba(F[n_lab:])
        if mode == "single":
            dec = np.zeros_like(P, dtype=bool)
            dec[np.arange(len(targets)), P.argmax(axis=1)] = True
            thr = [None] * len(codes)
        else:
            dec = P >= model.thresholds_[None, :]
            thr = [round(float(t), 6) for t in model.thresholds_]
        for r, c in zip(*np.nonzero(dec)):
            s = targets[int(r)]
            ev = {"method": "trained", "trained_on": coder, "probability": round(float(P[r, c]), 6)}
            if thr[c] is not None:
                ev["threshold"] = thr[c]
            codings.append(Coding(code=codes[int(c)], segment_id=s.id, document_id=s.document_id, start=s.start,
                                  end=s.end, score=round(float(P[r, c]), 6), evidence=ev, coder=rec.coder,
                                  run_id=rec.id))
    summary = {"cv": {"overall": cv.overall, "per_code": cv.per_code}, "n_labeled": n_lab, "n_targets": len(targets),
               "n_codings": len(codings), "embedded": stats.computed, "notes": cv.notes}
    run = rec.finish(codings=codings, summary=summary)
    return TrainResult(coder=coder, cv=cv, run=run, n_labeled=n_lab, n_targets=len(targets), n_codings=len(codings),
                       skipped_codes=skipped, notes=cv.notes)


def human_examples(project: Any, coder: str, *, max_per_code: int = 25, seed: int | None = 0) -> dict[str, list[str]]:
    """Up to ``max_per_code`` texts of segments a human coded with each code (a seeded draw)."""
    from qualcode.reliability.units import coder_source

    src = coder_source(project, coder)
    segs = project.store.segments_by_id([int(u) for u in src.units])
    by_code: dict[str, list[str]] = {}
    for u, cs in sorted(src.units.items(), key=lambda kv: int(kv[0])):
        s = segs.get(int(u))
        if s is None:
            continue
        for c in cs:
            by_code.setdefault(c, []).append(s.text)
    rng = np.random.default_rng(seed)
    out = {}
    for c, texts in by_code.items():
        if len(texts) > max_per_code:
            idx = sorted(rng.choice(len(texts), size=max_per_code, replace=False).tolist())
            texts = [texts[i] for i in idx]
        out[c] = texts
    return out


def code_with_human_examples(project: Any, codebook: Any, coder: str, *, max_per_code: int = 25,
                             seed: int | None = 0, **options: Any):
    """Zero-shot similarity coding whose code vectors also pool a human's examples.

    Calls :func:`qualcode.coding.deductive.code_segments` with ``extra_examples``.
    Segments the human coded are coded too, so agreement with that human on them is
    optimistic (the examples are in the code vectors): judge it on other segments.
    """
    from qualcode.coding.deductive import code_segments

    ex = human_examples(project, coder, max_per_code=max_per_code, seed=seed)
    return code_segments(project, codebook, extra_examples=ex, **options)

