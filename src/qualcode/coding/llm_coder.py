"""Deductive coding with an LLM: apply a codebook to segments.

Two designs:

- ``per="code"``: one yes/no judgement per (segment, code), with a rationale and the
  words that show it (segments x codes calls, the most careful);
- ``per="segment"``: one call per segment returning every applicable code, each with
  a rationale and a quote (fewer calls).

Every quote is checked against the segment text with :func:`qualcode.llm.verify_quote`:
the stored evidence says whether it was found exactly, after normalisation, fuzzily
(with the real span of the source text), or not at all; a quote that is not verbatim is
never stored as if it were. Codings cover the whole segment (as the embedding method's
do) and point at their run (coder ``run:<id>``), so the two methods compare directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, NamedTuple, Sequence

from qualcode.backends.base import LLMBackend
from qualcode.codebook import read_codebook
from qualcode.coding.deductive import _nothing_to_code
from qualcode.coding.select import select
from qualcode.errors import BackendError, InputError
from qualcode.llm import LLMClient, backend_locality, make_llm, verify_quote
from qualcode.params import check_choice, check_optional, check_positive_int
from qualcode.prompts import CODE_PAIR, CODE_SEGMENT
from qualcode.provenance import hash_obj
from qualcode.runs import RunRecorder, records_failures
from qualcode.types import Code, Codebook, Coding, Estimate, Run, Segment, StepResult

if TYPE_CHECKING:
    from qualcode.coding.select import Selection
    from qualcode.llm.client import LLMRequest
    from qualcode.project import Project

STEP = "llm-code"
PER_CHOICES = ("segment", "code")


def _code_details(c: Code) -> str:
    parts = []
    if c.include:
        parts.append(f"Include: {c.include}")
    if c.exclude:
        parts.append(f"Exclude: {c.exclude}")
    if c.examples:
        parts.append("Examples: " + " | ".join(c.examples[:3]))
    return "\n".join(parts)


def _validate_pair(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or "applies" not in data:
        raise ValueError("expected {\"applies\": true|false, \"rationale\": ..., \"quote\": ...}")
    applies = data["applies"]
    if isinstance(applies, str):
        applies = applies.strip().lower() in ("true", "yes", "1")
    return {"applies": bool(applies), "rationale": str(data.get("rationale") or ""),
            "quote": str(data.get("quote") or "")}


def _validate_segment(data: Any) -> dict[str, Any]:
    items = data.get("codes") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError("expected {\"codes\": [{\"code\": ..., \"rationale\": ..., \"quote\": ...}]}")
    out = []
    for it in items:
        if isinstance(it, str):
            it = {"code": it}
        if isinstance(it, dict) and str(it.get("code") or "").strip():
            out.append({"code": str(it["code"]).strip(), "rationale": str(it.get("rationale") or ""),
                        "quote": str(it.get("quote") or "")})
    return {"codes": out}


def quote_evidence(quote: str, seg: Segment) -> dict[str, Any]:
    """Evidence fields for a model's quote, checked against ``seg``.

    ``quote`` is what the model wrote; ``quote_status`` is exact | normalized | fuzzy |
    not_found | none; for a found quote, ``quote_start``/``quote_end`` are document
    offsets and ``quote_text`` is the verbatim source span.
    """
    if not quote.strip():
        return {"quote": "", "quote_status": "none"}
    m = verify_quote(quote, seg.text)
    if m is None:
        return {"quote": quote, "quote_status": "not_found"}
    ev: dict[str, Any] = {"quote": quote, "quote_status": m.match, "quote_start": seg.start + m.start,
                          "quote_end": seg.start + m.end, "quote_text": seg.text[m.start:m.end]}
    if m.match == "fuzzy":
        ev["quote_similarity"] = m.score
    return ev


def _load_codebook(store: Any, codebook: Codebook | str | os.PathLike[str]) -> tuple[Codebook, str | None]:
    """A Codebook, a codebook file, or the name of a codebook stored in the project."""
    return read_codebook(codebook, store)


@dataclass(frozen=True)
class LLMCodeResult(StepResult):
    """What :func:`llm_code` returns: the stored run, the codebook as stored, the counts."""

    run: Run
    codebook: Codebook
    n_segments: int
    n_codings: int
    segments_coded: int
    #: quote checks: exact, normalized, fuzzy, not_found, none
    quotes: Mapping[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run.id, "summary": dict(self.run.summary), "codebook": self.codebook.name,
                "codebook_version": self.codebook.version, "n_segments": self.n_segments,
                "n_codings": self.n_codings, "segments_coded": self.segments_coded, "quotes": dict(self.quotes)}


class _Plan(NamedTuple):
    """What an LLM coding run would send: checked parameters, the segments, the requests."""

    per: str
    codebook: Codebook
    source: str | None
    client: LLMClient
    chosen: Any  # qualcode.coding.select.Selected
    skip_moderators: bool
    requests: list[LLMRequest]


def _requests(cb: Codebook, segs: Sequence[Segment], per: str) -> list[LLMRequest]:
    if per == "code":
        return [CODE_PAIR.request(key=(s.id, c.name), text_hashes=(s.text_hash,), validate=_validate_pair,
                                  max_tokens=250, code=c.name, definition=c.definition, details=_code_details(c),
                                  segment=s.text)
                for s in segs for c in cb.codes]
    codes_text = "\n".join(
        f"- {c.name}" + (f": {c.definition}" if c.definition else "")
        + (f" (include: {c.include})" if c.include else "") + (f" (exclude: {c.exclude})" if c.exclude else "")
        for c in cb.codes)
    return [CODE_SEGMENT.request(key=s.id, text_hashes=(s.text_hash,), validate=_validate_segment,
                                 max_tokens=150 + 120 * min(len(cb.codes), 5), codes=codes_text, segment=s.text)
            for s in segs]


def llm_client(project: Project, llm: "str | LLMBackend | LLMClient | None", *, concurrency: int | None = None,
               show_progress: bool = True) -> LLMClient:
    """The client a step calls through: ``llm`` as given (a client), around a backend, or
    for a spec (default ``[llm] model``)."""
    if isinstance(llm, LLMClient):
        return llm
    backend = llm if isinstance(llm, LLMBackend) else make_llm(project.settings, llm)
    return LLMClient.from_settings(backend, project.store, project.settings, concurrency=concurrency,
                                   show_progress=show_progress)


def _plan(project: Project, codebook: Codebook | str | os.PathLike[str], *, per: str, llm: Any,
          concurrency: int | None, segments: Sequence[Segment | int] | None, skip_moderators: bool | None,
          show_progress: bool, selection: "Selection | None", skip_unattributed: bool | None) -> _Plan:
    """Check the parameters (before any model or store work), then choose the segments and
    build the requests."""
    check_choice("per", per, PER_CHOICES)
    concurrency = check_optional(check_positive_int, "concurrency", concurrency)
    cb, source = _load_codebook(project.store, codebook)
    if not cb.codes:
        raise InputError("the codebook has no codes", param="codebook")
    client = llm_client(project, llm, concurrency=concurrency, show_progress=show_progress)
    if skip_moderators is None:
        skip_moderators = segments is None and bool(project.settings.get("coding", "skip_moderators", True))
    chosen = select(project, selection, segments=segments, skip_moderators=skip_moderators,
                    skip_unattributed=skip_unattributed, show_progress=show_progress)
    if not chosen.segments:
        raise _nothing_to_code(chosen)
    return _Plan(per, cb, source, client, chosen, bool(skip_moderators), _requests(cb, chosen.segments, per))


def estimate_llm_code(
    project: Project,
    codebook: Codebook | str | os.PathLike[str],
    *,
    per: str = "segment",
    llm: "str | LLMBackend | LLMClient | None" = None,
    concurrency: int | None = None,
    segments: Sequence[Segment | int] | None = None,
    skip_moderators: bool | None = None,
    show_progress: bool = True,
    selection: "Selection | None" = None,
    skip_unattributed: bool | None = None,
) -> Estimate:
    """How many calls :func:`llm_code` with the same arguments would make, and roughly
    how many tokens (answers already in the call log are not counted). Calls no model
    and stores nothing (a relevance ``selection`` still ranks, and stores its run)."""
    plan = _plan(project, codebook, per=per, llm=llm, concurrency=concurrency, segments=segments,
                 skip_moderators=skip_moderators, show_progress=show_progress, selection=selection,
                 skip_unattributed=skip_unattributed)
    est = plan.client.estimate(plan.requests, out_tokens=120 if per == "code" else 250)
    backend = plan.client.backend
    return Estimate(step=STEP, model=backend.name, locality=backend_locality(backend), requests=est["requests"],
                    cached=est["cached"], calls=est["calls"], tokens_in_approx=est["tokens_in"],
                    tokens_out_approx=est["tokens_out"],
                    details={"per": per, "segments": len(plan.chosen.segments), "codes": len(plan.codebook.codes)})


@records_failures
def llm_code(
    project: Project,
    codebook: Codebook | str | os.PathLike[str],
    *,
    per: str = "segment",
    llm: "str | LLMBackend | LLMClient | None" = None,
    concurrency: int | None = None,
    segments: Sequence[Segment | int] | None = None,
    skip_moderators: bool | None = None,
    show_progress: bool = True,
    selection: "Selection | None" = None,
    skip_unattributed: bool | None = None,
) -> LLMCodeResult:
    """Apply ``codebook`` to the project's current segments with an LLM.

    Parameters
    ----------
    project : Project
    codebook : Codebook or path
    per : {"segment", "code"}
        One call per segment (all codes) or one yes/no call per (segment, code).
    llm : str, LLMBackend or LLMClient, optional
        A spec, a backend, or a ready client (its call log and settings); default
        ``[llm] model``.
    segments : sequence of Segment (or segment ids), optional
        Code only these (default: all current segments).
    selection : qualcode.coding.select.Selection, optional
        Documents, ``where`` and relevance filters (ranked before any LLM call); the
        run records the filter.
    skip_moderators : bool, optional
        Leave out segments spoken only by a moderator (default ``[coding]
        skip_moderators``, as for similarity coding).

    Parameters are checked before any model call. :func:`estimate_llm_code` gives the
    number of calls and tokens without running.

    Returns
    -------
    LLMCodeResult (its run's summary has counts of codings and of quote checks).
    """
    plan = _plan(project, codebook, per=per, llm=llm, concurrency=concurrency, segments=segments,
                 skip_moderators=skip_moderators, show_progress=show_progress, selection=selection,
                 skip_unattributed=skip_unattributed)
    store, client, cb, segs = project.store, plan.client, plan.codebook, plan.chosen.segments
    backend, template = client.backend, CODE_PAIR if per == "code" else CODE_SEGMENT
    # the codebook is stored once the calls succeeded: a refused or failed step stores none
    params = {"method": "llm", "per": per,
              "codebook": {"name": cb.name, "id": None, "version": None, "source": plan.source},
              "llm": backend.describe(), "locality": backend_locality(backend), "concurrency": client.concurrency,
              "template": template.describe(), "segments": len(segs),
              "skip_moderators": plan.skip_moderators, "moderator_segments_skipped": plan.chosen.skipped("moderator"),
              "unattributed_segments_skipped": plan.chosen.skipped("unattributed"), **plan.chosen.run_params()}
    rec = RunRecorder(store, STEP, params=params, backend=type(backend).__name__, model=backend.name,
                      input_hash=hash_obj([s.text_hash for s in segs]), prompt_hash=template.hash)
    client.step, client.run_id = STEP, rec.id
    results = client.run(plan.requests, desc="LLM coding")
    failed = [r for r in results if not r.ok]
    if failed:
        raise BackendError(
            f"{len(failed)} of {len(results)} coding requests failed (e.g. {failed[0].error}); finished calls are "
            f"kept in the store, so running the same command again resumes",
            hint="`qualcode llm-log` shows the failed calls",
        )
    stored_cb = store.add_codebook(cb, source_path=plan.source, origin="file")
    rec.params["codebook"] = {**params["codebook"], "id": stored_cb.id, "version": stored_cb.version}
    codings, counts, unknown = _codings(results, cb, segs, per, coder=rec.coder, run_id=rec.id)
    stats = client.stats
    rec.tokens_in, rec.tokens_out = stats.tokens_in, stats.tokens_out
    if stats.resolved_models:
        rec.model_version = ", ".join(sorted(stats.resolved_models))
    coded = len({c.segment_id for c in codings})
    summary = {"segments": len(segs), "moderator_segments_skipped": plan.chosen.skipped("moderator"),
               "codes": len(cb.codes), "codings": len(codings), "segments_coded": coded, "quotes": counts,
               "unknown_codes_discarded": unknown, "calls": stats.as_dict()}
    run = rec.finish(codings=codings, summary=summary)
    return LLMCodeResult(run=run, codebook=stored_cb, n_segments=len(segs), n_codings=len(codings),
                         segments_coded=coded, quotes=counts)


def _codings(results: Sequence[Any], cb: Codebook, segs: Sequence[Segment], per: str, *, coder: str,
             run_id: str) -> tuple[list[Coding], dict[str, int], int]:
    """The codings the answers give (each quote checked), the quote-check counts, and how
    many answers named a code the codebook does not have."""
    by_seg = {s.id: s for s in segs}
    names = {c.name.casefold(): c.name for c in cb.codes}
    codings: list[Coding] = []
    counts = {"exact": 0, "normalized": 0, "fuzzy": 0, "not_found": 0, "none": 0}
    unknown = 0
    for res in results:
        if per == "code":
            sid, code = res.key
            if not res.data["applies"]:
                continue
            applied = [{"code": code, "rationale": res.data["rationale"], "quote": res.data["quote"]}]
        else:
            sid = res.key
            applied = []
            seen: set[str] = set()
            for a in res.data["codes"]:
                name = names.get(a["code"].casefold())
                if name is None:
                    unknown += 1
                    continue
                if name not in seen:
                    seen.add(name)
                    applied.append({**a, "code": name})
        seg = by_seg[sid]
        for a in applied:
            ev = {"rationale": a["rationale"], "method": "llm", "per": per, **quote_evidence(a["quote"], seg)}
            counts[ev["quote_status"]] += 1
            codings.append(Coding(code=a["code"], segment_id=seg.id, document_id=seg.document_id, start=seg.start,
                                  end=seg.end, evidence=ev, coder=coder, run_id=run_id))
    return codings, counts, unknown
