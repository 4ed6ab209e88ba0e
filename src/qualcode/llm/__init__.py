"""The LLM call layer: concurrency, retries, structured output, and the call log/cache.

Pipeline steps build :class:`LLMRequest` objects and hand them to :class:`LLMClient`
(:mod:`qualcode.llm.client`), which runs them concurrently with retries and one repair
request, and logs every attempt in the project store; that log is the cache, so
re-running a finished step makes zero calls. The other modules each do one job:

- :mod:`qualcode.llm.factory`: :func:`make_llm` (the backend for ``[llm] model`` or
  ``--llm``, with its key read from the environment) and :func:`backend_locality`;
- :mod:`qualcode.llm.replies`: :func:`parse_json_reply`, :func:`check_schema`,
  :func:`approx_tokens`;
- :mod:`qualcode.llm.quotes`: :func:`verify_quote` / :class:`QuoteMatch`.

The names below are re-exported so ``from qualcode.llm import ...`` keeps working. The
error classes live in :mod:`qualcode.errors` (backends import them from there).
"""

from __future__ import annotations

from qualcode.backends.base import Message
from qualcode.errors import FatalBackendError, RetryableError
from qualcode.llm.client import REPAIR_PROMPT, CallStats, LLMClient, LLMRequest, LLMResult
from qualcode.llm.factory import DEFAULT_KEY_ENV, backend_locality, is_loopback_host, make_llm
from qualcode.llm.quotes import QuoteMatch, verify_quote
from qualcode.llm.replies import approx_tokens, check_schema, parse_json_reply

__all__ = [
    "DEFAULT_KEY_ENV", "REPAIR_PROMPT", "CallStats", "FatalBackendError", "LLMClient", "LLMRequest", "LLMResult", "Message", "QuoteMatch",
    "RetryableError", "approx_tokens", "backend_locality", "check_schema", "is_loopback_host", "make_llm",
    "parse_json_reply", "verify_quote",
]
