"""Progress on slow work: a bar on a terminal, a line every few seconds otherwise.

On a terminal (stderr is a tty) a tqdm bar advances as work is done. When output goes
to a file or a pipe (a CI log, ``nohup``), a plain line ``desc: done/total (pct%)`` is
printed to stderr every :data:`LINE_INTERVAL_S` seconds while the work lasts, and a
last one when it ends, so a long step is never silent. Work that ends within the
interval prints nothing.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Iterator

#: seconds between progress lines when stderr is not a terminal
LINE_INTERVAL_S = 5.0


class _Null:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str) -> None:
        pass


class _Lines:
    """Progress as occasional plain lines, for logs."""

    def __init__(self, total: int, desc: str, stream, interval: float) -> None:
        self.total, self.desc, self.stream, self.interval = total, desc, stream, interval
        self.n = 0
        self.t0 = self.last = time.monotonic()
        self.printed = False
        self.shown = -1  # the count in the last line printed
        self.postfix = ""

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self._line(now)

    def set_postfix_str(self, s: str) -> None:
        self.postfix = s

    def _line(self, now: float) -> None:
        pct = 100.0 * self.n / self.total if self.total else 100.0
        extra = f", {self.postfix}" if self.postfix else ""
        print(f"{self.desc}: {self.n}/{self.total} ({pct:.0f}%, {now - self.t0:.0f} s{extra})", file=self.stream,
              flush=True)
        self.printed = True
        self.shown = self.n

    def close(self) -> None:
        if self.printed and self.shown != self.n:  # a long step says it finished
            self._line(time.monotonic())


@contextmanager
def progress(*, total: int, desc: str, enabled: bool = True, interval: float | None = None) -> Iterator[object]:
    """A tqdm bar on stderr when it is a terminal; otherwise a line every few seconds."""
    if not enabled or total <= 0:
        yield _Null()
        return
    if not sys.stderr.isatty():
        lines = _Lines(total, desc, sys.stderr, LINE_INTERVAL_S if interval is None else interval)
        try:
            yield lines
        finally:
            lines.close()
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit="it", leave=False, file=sys.stderr) as bar:
        yield bar


def announce(message: str, *, enabled: bool = True) -> None:
    """One line on stderr about slow work starting (loading a model, ...)."""
    if enabled:
        print(message, file=sys.stderr, flush=True)
