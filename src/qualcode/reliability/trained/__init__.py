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
not, as a ``train`` run.

Modules: :mod:`.models` (features, the two coders and their inner tuning),
:mod:`.cv` (outer cross-validation and its scores), :mod:`.step` (``train_coder`` and the
human-example helpers); this package re-exports their public names.
"""

from qualcode.reliability.trained.cv import CVResult, Fold, cross_validate, outer_splits
from qualcode.reliability.trained.models import (
    DEFAULT_CS,
    MODEL_DESCRIPTION,
    MODES,
    MultiLabelCoder,
    SingleLabelCoder,
    _best_threshold,
    features,
    single_thread,
)
from qualcode.reliability.trained.step import STEP, TrainResult, code_with_human_examples, human_examples, train_coder

__all__ = [
    "DEFAULT_CS", "MODEL_DESCRIPTION", "MODES", "STEP", "CVResult", "Fold", "MultiLabelCoder", "SingleLabelCoder",
    "TrainResult", "_best_threshold", "code_with_human_examples", "cross_validate", "features", "human_examples",
    "outer_splits", "single_thread", "train_coder",
]
