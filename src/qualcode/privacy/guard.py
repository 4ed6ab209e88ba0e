"""The outbound guard: call :func:`check_outbound` before any text is sent to a backend.

It decides from configuration and the store only; it opens no connection and resolves
no name. The rules:

- a **local** backend (in-process, or an endpoint on a loopback address) is always
  allowed;
- an **external** backend is refused when the project is classified ``confidential``
  (the default);
- with ``deidentified`` or ``public``, an external backend is allowed only when that
  classification was recorded with an approval (``qualcode classify ... --approve``)
  and is still the latest record: editing ``qualcode.toml`` or setting
  ``QUALCODE_CLASSIFICATION`` is not enough;
- with ``deidentified``, every current document must be a version made by
  ``qualcode deidentify`` or one that was current when the approval was given (a
  transcript ingested later is refused until it is de-identified too).

When only :class:`~qualcode.config.Settings` are given (no store), the approval and
document checks cannot run; only the classification rule applies.

Typical use in the LLM layer::

    approval = check_outbound(project, backend, n_texts=len(todo), step="llm-code")
    ... send ...
    record_outbound(project.store, "llm-code", backend, hashes, approval.classification,
                    approval.approval_id)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from qualcode.errors import InputError, PrivacyError
from qualcode.locality import EXTERNAL, LOCAL, backend_locality
from qualcode.store import privacy as sql

__all__ = ["Approval", "check_outbound", "CLASSIFICATIONS", "settings_and_store"]

CLASSIFICATIONS = ("confidential", "deidentified", "public")

HINT = (
    "de-identify the transcripts first with `qualcode deidentify --names names.csv`, then reclassify with "
    "`qualcode classify deidentified --approve \"who/why\"` (the approval is recorded in the audit trail); "
    "or use a local model (ollama:..., llamacpp:..., http://127.0.0.1:PORT/v1#model)"
)


@dataclass(frozen=True)
class Approval:
    """The guard's permission for one outbound batch (it raises instead of refusing).

    ``approval_id`` is the recorded classification approval that allowed an external
    call (``None`` for local backends, or when no store was given).
    """

    step: str
    n_texts: int
    locality: str
    endpoint: str | None
    backend: str
    classification: str
    approval_id: int | None
    approved: str | None
    reason: str

    @property
    def external(self) -> bool:
        return self.locality == EXTERNAL

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def settings_and_store(project_or_settings: Any, store: Any = None) -> tuple[Any, Any]:
    """``(settings, store)`` from a Project, a Settings, or anything with ``.settings``."""
    settings = getattr(project_or_settings, "settings", project_or_settings)
    if store is None:
        store = getattr(project_or_settings, "store", None)
    if not hasattr(settings, "get"):
        raise InputError(
            f"check_outbound needs a Project or Settings; got {type(project_or_settings).__name__}")
    return settings, store


def _classification(settings: Any) -> str:
    cls = str(getattr(settings, "classification", None) or settings.get("project", "classification", "confidential"))
    if cls not in CLASSIFICATIONS:
        # unknown is treated as the strictest
        return "confidential"
    return cls


def check_outbound(project_or_settings: Any, backend: Any, *, n_texts: int, step: str,
                   store: Any = None) -> Approval:
    """Allow or refuse sending ``n_texts`` texts to ``backend``, before any connection.

    Parameters
    ----------
    project_or_settings : Project or Settings
        A :class:`~qualcode.project.Project` (preferred: its store holds the approvals)
        or bare :class:`~qualcode.config.Settings`.
    backend : LLMBackend or EmbeddingBackend
        Classified by :func:`qualcode.locality.backend_locality`.
    n_texts : int
        How many texts (segments, prompts) would be sent; for the message and record.
    step : str
        The step asking (``"llm-code"``, ``"themes"``...).
    store : Store, optional
        Overrides the project's store.

    Returns
    -------
    Approval

    Raises
    ------
    PrivacyError
        Confidential data and an external backend; or an external backend and a
        classification that was not recorded with an approval; or de-identified data
        with documents that were not de-identified.
    """
    if isinstance(n_texts, bool) or not isinstance(n_texts, int) or n_texts < 0:
        raise InputError(f"n_texts must be a non-negative integer; got {n_texts!r}")
    settings, store = settings_and_store(project_or_settings, store)
    classification = _classification(settings)
    locality, endpoint, reason = backend_locality(backend)
    name = str(getattr(backend, "name", "") or type(backend).__name__)
    if locality == LOCAL:
        return Approval(step=step, n_texts=n_texts, locality=LOCAL, endpoint=endpoint, backend=name,
                        classification=classification, approval_id=None, approved=None, reason=reason)
    where = f"{endpoint}" if endpoint else f"the external backend {type(backend).__name__}"
    what = f"step {step!r} would send {n_texts} text{'s' if n_texts != 1 else ''} to {where} (model {name!r})"
    if classification == "confidential":
        raise PrivacyError(
            f"refused: {what}, which is outside this machine ({reason}), and the project's data is classified "
            "'confidential'. Nothing was sent.",
            hint=HINT,
        )
    if store is None:
        return Approval(step=step, n_texts=n_texts, locality=EXTERNAL, endpoint=endpoint, backend=name,
                        classification=classification, approval_id=None, approved=None,
                        reason=reason + "; no store given, so no recorded approval was checked")

    latest = sql.latest_approval(store)
    if latest is None or latest["classification"] != classification:
        recorded = "no classification has been recorded" if latest is None else (
            f"the latest recorded classification is {latest['classification']!r} (#{latest['id']})")
        raise PrivacyError(
            f"refused: {what}. The settings say the data is {classification!r}, but {recorded}: a change of "
            "classification takes an explicit, recorded approval. Nothing was sent.",
            hint=f"record it with `qualcode classify {classification} --approve \"who/why\"`; " + HINT,
        )
    if classification == "deidentified":
        approved_hashes = set(latest.get("documents") or [])
        missing = [d["name"] for d in sql.current_coverage(store)
                   if not d["deidentified"] and d["content_hash"] not in approved_hashes]
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise PrivacyError(
                f"refused: {what}. The data is classified 'deidentified' (approval #{latest['id']}), but "
                f"{len(missing)} current document(s) were neither made by `qualcode deidentify --names FILE` nor covered by "
                f"that approval: {shown}. Nothing was sent.",
                hint="run `qualcode deidentify --names names.csv` again (new documents are de-identified with the "
                     "same pseudonyms), or record a new approval with `qualcode classify deidentified --approve ...`",
            )
    return Approval(step=step, n_texts=n_texts, locality=EXTERNAL, endpoint=endpoint, backend=name,
                    classification=classification, approval_id=int(latest["id"]),
                    approved=str(latest.get("approval") or ""), reason=reason)
