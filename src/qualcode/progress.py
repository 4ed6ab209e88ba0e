"""Progress bars that show on a terminal and stay quiet otherwise."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator


class _Null:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str) -> None:
        pass


@contextmanager
def progress(*, total: int, desc: str, enabled: bool = True) -> Iterator[object]:
    """A tqdm bar on stderr when it is a terminal; a no-op otherwise."""
    if not enabled or not sys.stderr.isatty() or total <= 0:
        yield _Null()
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit="it", leave=False, file=sys.stderr) as bar:
        yield bar
