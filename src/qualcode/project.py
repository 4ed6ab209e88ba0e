"""A project: a directory with ``qualcode.toml`` and the store, plus resolved settings.

:class:`Project` is a small context object handed to every step function; it holds no
step logic itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from qualcode.backends.registry import embedding_backend
from qualcode.backends.routing import is_auto, project_languages, route
from qualcode.compute import make_engine
from qualcode.config import CONFIG_FILE, Settings, default_config_text, load_settings
from qualcode.errors import InputError, StoreError
from qualcode.store import DB_FILE, Store


@dataclass
class Project:
    path: Path
    store: Store
    settings: Settings
    _embedder: Any = field(default=None, repr=False)
    _engine: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return str(self.settings.get("project", "name", self.path.name))

    def embedder(self, spec: Any = None, *, texts: Sequence[str] = ()):
        """The embedding backend for ``spec`` (default: the project's model), cached.

        ``spec`` may also be an embedding backend object: it is returned as is (how a
        step's ``embedder=`` is resolved, whatever form it was given in).

        ``auto`` (the default model) is resolved by :mod:`qualcode.backends.routing`
        from the documents' languages and those of ``texts`` (a step's codebook or
        question). A backend set directly as ``_embedder = (spec, backend)`` is used
        for that spec as is."""
        if spec is not None and not isinstance(spec, str):
            return spec
        requested = spec or self.settings.embedding_model
        if self._embedder is not None and len(self._embedder) == 2 and self._embedder[0] == requested:
            return self._embedder[1]
        resolved = route(project_languages(self, texts)) if is_auto(requested) else requested
        if self._embedder is not None and tuple(self._embedder[:2]) == (requested, resolved):
            return self._embedder[2]
        opts = {"batch_size": int(self.settings.get("embedding", "batch_size", 32)),
                "device": str(self.settings.get("embedding", "device", "cpu") or "cpu")}
        backend = embedding_backend(resolved, **opts)
        self._embedder = (requested, resolved, backend)
        return backend

    def compute(self):
        """The engine that computes embeddings (``[compute] engine``: local or ray; see
        :mod:`qualcode.compute`), made once and released by :meth:`close`."""
        if self._engine is None:
            self._engine = make_engine(self.settings.section("compute"))
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        self.store.close()

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def init_project(path: str | os.PathLike[str], *, name: str | None = None) -> Project:
    """Create a project directory with ``qualcode.toml`` and an empty store.

    An existing project is opened, not overwritten.
    """
    pdir = Path(path)
    if pdir.exists() and not pdir.is_dir():
        raise InputError(f"{pdir}: exists and is not a directory")
    pdir.mkdir(parents=True, exist_ok=True)
    cfg = pdir / CONFIG_FILE
    if not cfg.exists():
        cfg.write_text(default_config_text(name or pdir.resolve().name), encoding="utf-8")
    store = Store.create(pdir)
    return Project(path=pdir, store=store, settings=load_settings(pdir))


def find_project_dir(start: str | os.PathLike[str] | None = None) -> Path:
    """The given directory, or the nearest directory upwards holding a project."""
    here = Path(start) if start is not None else Path.cwd()
    if start is not None:
        return here
    for d in (here, *here.parents):
        if (d / DB_FILE).is_file() or (d / CONFIG_FILE).is_file():
            return d
    return here


def open_project(
    path: str | os.PathLike[str] | None = None,
    *,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Project:
    """Open an existing project (``path`` or the current directory and its parents)."""
    pdir = find_project_dir(path)
    if not (pdir / DB_FILE).is_file():
        raise StoreError(
            f"{pdir.resolve()}: not a qualcode project (no {DB_FILE})",
            hint="create one with `qualcode init DIR`, or point at one with -p/--project DIR",
        )
    settings = load_settings(pdir, overrides=overrides)
    return Project(path=pdir, store=Store.open(pdir), settings=settings)
