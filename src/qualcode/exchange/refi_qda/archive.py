"""Bounded, read-only access to a REFI-QDA archive (``.qdpx`` zip, or a bare ``.qde``).

Safe on hostile files: nothing is read outside the archive, and limits apply to
entries, sizes, compression ratios and the bytes one import takes in.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path

from qualcode.errors import InputError

#: limits applied to archives on import
MAX_ARCHIVE_BYTES = 512 * 1024 * 1024      # total uncompressed size
#: bytes of project XML and source text one import may take in, all sources together
#: (an entry referenced by many sources is read once but counted each time it is used)
MAX_IMPORT_BYTES = 512 * 1024 * 1024
MAX_ENTRIES = 20_000
MAX_XML_BYTES = 256 * 1024 * 1024
MAX_RATIO = 200                            # uncompressed / compressed per entry (zip bombs)


def decode_text(data: bytes, where: str) -> str:
    """Source text bytes as str: BOM-aware UTF-8/UTF-16, else Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(f"bad UTF-16 text: {exc}", path=where) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise InputError("source text is neither UTF-8 nor Windows-1252", path=where) from exc


class Archive:
    """Read-only, bounded access to a .qdpx zip (or a bare .qde file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zf: zipfile.ZipFile | None = None
        self.entries: dict[str, zipfile.ZipInfo] = {}
        self.taken = 0  # bytes handed out so far, against MAX_IMPORT_BYTES
        self._read: dict[str, bytes] = {}  # each entry is read (decompressed) once
        if not path.is_file():
            raise InputError("file not found", path=str(path))
        if not zipfile.is_zipfile(path):
            with open(path, "rb") as fh:
                head = fh.read(512).lstrip()
            if head.startswith(b"<?xml") or head.startswith(b"<"):
                self.qde_bytes = self._read_file_bounded(path)
                self.take(len(self.qde_bytes), "project XML")
                return
            raise InputError("not a REFI-QDA project: expected a .qdpx zip archive or a .qde XML file",
                             path=str(path))
        try:
            self.zf = zipfile.ZipFile(path)
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise InputError(f"damaged zip archive: {exc}", path=str(path)) from exc
        if len(infos) > MAX_ENTRIES:
            raise InputError(f"archive has {len(infos)} entries; at most {MAX_ENTRIES} are accepted", path=str(path))
        total = 0
        for info in infos:
            name = info.filename.replace("\\", "/")
            if info.is_dir():
                continue
            total += info.file_size
            if total > MAX_ARCHIVE_BYTES:
                raise InputError(f"archive unpacks to more than {MAX_ARCHIVE_BYTES // 2**20} MiB; refused",
                                 path=str(path))
            if info.compress_size and info.file_size / max(info.compress_size, 1) > MAX_RATIO \
                    and info.file_size > 1_000_000:
                raise InputError(f"entry {name!r} is compressed {info.file_size // max(info.compress_size, 1)}:1"
                                 " (a zip bomb?); refused", path=str(path))
            norm = posixpath.normpath(name)
            if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or norm.startswith("..") or "\x00" in name:
                raise InputError(f"archive entry {name!r} points outside the archive; refused", path=str(path))
            self.entries[norm.lower()] = info
        qdes = [k for k in self.entries if k.endswith(".qde") and "/" not in k]
        if not qdes:
            qdes = [k for k in self.entries if k.endswith(".qde")]
        if not qdes:
            raise InputError("no project.qde inside the archive; is this a REFI-QDA project?", path=str(path))
        key = "project.qde" if "project.qde" in qdes else sorted(qdes)[0]
        self.qde_bytes = self._read_entry(self.entries[key], MAX_XML_BYTES)
        self.take(len(self.qde_bytes), "project XML")

    def take(self, n: int, what: str) -> None:
        """Count ``n`` more bytes against the import's budget (:data:`MAX_IMPORT_BYTES`)."""
        self.taken += int(n)
        if self.taken > MAX_IMPORT_BYTES:
            raise InputError(
                f"the import would take in more than {MAX_IMPORT_BYTES // 2**20} MiB of XML and source text "
                f"(the limit of one import, all sources together; reached at {what}); refused",
                path=str(self.path), hint="split the project, or check the file: sources may reference the same "
                                          "large entry many times")

    def _read_file_bounded(self, path: Path) -> bytes:
        if path.stat().st_size > MAX_XML_BYTES:
            raise InputError("project XML is too large", path=str(path))
        return path.read_bytes()

    def _read_entry(self, info: zipfile.ZipInfo, limit: int) -> bytes:
        assert self.zf is not None
        try:
            with self.zf.open(info) as fh:
                data = fh.read(limit + 1)
        except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError) as exc:  # incl. zlib errors
            raise InputError(f"cannot read archive entry {info.filename!r}: {exc}", path=str(self.path)) from exc
        except Exception as exc:
            raise InputError(f"cannot read archive entry {info.filename!r}: {exc}", path=str(self.path)) from exc
        if len(data) > limit:
            raise InputError(f"archive entry {info.filename!r} is larger than declared; refused", path=str(self.path))
        return data

    def read_source(self, ref: str) -> bytes | None:
        """Bytes of ``internal://NAME`` (or a relative path) inside ``sources/``; never a
        file outside the archive."""
        if self.zf is None:
            return None
        r = ref.strip()
        if r.lower().startswith("internal://"):
            r = r[len("internal://"):]
        elif "://" in r or r.startswith("/") or re.match(r"^[A-Za-z]:", r):
            return None  # absolute or external path: not read, by design
        r = r.replace("\\", "/").lstrip("/")
        norm = posixpath.normpath(r)
        if norm.startswith("..") or "\x00" in norm:
            return None
        for cand in (f"sources/{norm}".lower(), norm.lower()):
            info = self.entries.get(cand)
            if info is not None:
                self.take(info.file_size, f"source {ref!r}")  # before reading: declared size
                data = self._read.get(cand)
                if data is None:
                    data = self._read[cand] = self._read_entry(info, min(info.file_size, MAX_ARCHIVE_BYTES))
                return data
        return None

    def close(self) -> None:
        if self.zf is not None:
            self.zf.close()
