"""The trained coder's features and models: a class-weighted logistic regression (``C``
by inner cross-validation) averaged with a shrinkage LDA, for one label per unit
(:class:`SingleLabelCoder`) or any number (:class:`MultiLabelCoder`, with per-code
thresholds tuned on the inner cross-validation)."""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

DEFAULT_CS = (0.003, 0.01, 0.03, 0.1)
MODES = ("auto", "multi", "single")
MODEL_DESCRIPTION = ("mean of the probabilities of a class-weighted logistic regression (C by inner CV) and a "
                     "shrinkage LDA, on standardised [embedding, similarity to each code]")


def single_thread():
    """BLAS/OpenMP limited to one thread while fitting: on small matrices extra
    threads only contend (measured 20x slower with 2 threads on a 2-core machine)."""
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

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


def features(embeddings: np.ndarray, code_vectors: np.ndarray | None = None) -> np.ndarray:
    """``[embedding, cosine similarity to each code vector]`` (unit-normalised inputs)."""
    E = np.asarray(embeddings, dtype=np.float64)
    if code_vectors is None or len(code_vectors) == 0:
        return E
    return np.hstack([E, E @ np.asarray(code_vectors, dtype=np.float64).T])
