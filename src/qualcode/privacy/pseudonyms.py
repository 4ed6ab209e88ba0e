"""The pseudonym mapping: entity -> ``[TYPE_n]``, consistent across documents and runs,
saved as JSON or encrypted with a passphrase (Fernet, scrypt-derived key)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Mapping

from qualcode.errors import InputError

__all__ = ["PseudonymMap"]


_FORMAT = "qualcode-pseudonyms"
_SCRYPT = {"n": 2 ** 15, "r": 8, "p": 1}


def _fernet(passphrase: str, salt: bytes, n: int, r: int, p: int) -> Any:
    from cryptography.fernet import Fernet  # a core dependency, imported when a passphrase is used

    key = hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32)
    return Fernet(base64.urlsafe_b64encode(key))


class PseudonymMap:
    """Entity -> pseudonym, consistent across documents and runs.

    ``entries`` maps an entity key (``TYPE|folded value``) to
    ``{"pseudonym": "[PERSON_1]", "type": "PERSON", "values": [original spellings]}``.
    """

    def __init__(self, entries: Mapping[str, Mapping[str, Any]] | None = None,
                 counters: Mapping[str, int] | None = None) -> None:
        self.entries: dict[str, dict[str, Any]] = {k: {"pseudonym": v["pseudonym"], "type": v["type"],
                                                       "values": list(v.get("values", []))}
                                                   for k, v in (entries or {}).items()}
        self.counters: dict[str, int] = dict(counters or {})
        for v in self.entries.values():  # never reuse a number
            m = re.match(r"^\[([A-Z0-9_]+)_(\d+)\]$", v["pseudonym"])
            if m:
                self.counters[m.group(1)] = max(self.counters.get(m.group(1), 0), int(m.group(2)))

    def __len__(self) -> int:
        return len(self.entries)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PseudonymMap) and self.to_dict() == other.to_dict()

    def pseudonym(self, key: str, type_: str, original: str) -> str:
        e = self.entries.get(key)
        if e is None:
            n = self.counters.get(type_, 0) + 1
            self.counters[type_] = n
            e = self.entries[key] = {"pseudonym": f"[{type_}_{n}]", "type": type_, "values": []}
        if original not in e["values"]:
            e["values"].append(original)
        return str(e["pseudonym"])

    def reidentify(self, text: str) -> str:
        """Replace pseudonyms in ``text`` by the first original spelling seen."""
        table = {v["pseudonym"]: (v["values"][0] if v["values"] else v["pseudonym"]) for v in self.entries.values()}
        if not table:
            return text
        pat = re.compile("|".join(re.escape(p) for p in sorted(table, key=len, reverse=True)))
        return pat.sub(lambda m: table[m.group(0)], text)

    def to_dict(self) -> dict[str, Any]:
        return {"format": _FORMAT, "version": 1, "counters": dict(sorted(self.counters.items())),
                "entries": {k: self.entries[k] for k in sorted(self.entries)}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PseudonymMap":
        if not isinstance(data, Mapping) or data.get("format") != _FORMAT or not isinstance(data.get("entries"), Mapping):
            raise InputError("not a qualcode pseudonym mapping")
        try:
            return cls(data["entries"], data.get("counters") or {})
        except (KeyError, TypeError) as exc:
            raise InputError(f"the pseudonym mapping is damaged: {exc}") from exc

    def to_bytes(self, passphrase: str | None = None) -> bytes:
        """JSON bytes; with a passphrase, an envelope holding a Fernet token whose key is
        derived from the passphrase with scrypt (random salt)."""
        plain = json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8")
        if not passphrase:
            return plain
        salt = os.urandom(16)
        token = _fernet(passphrase, salt, **_SCRYPT).encrypt(plain)
        env = {"format": _FORMAT, "version": 1, "encrypted": True,
               "kdf": {"name": "scrypt", **_SCRYPT, "salt": base64.b64encode(salt).decode("ascii")},
               "cipher": "fernet", "token": token.decode("ascii")}
        return json.dumps(env, sort_keys=True).encode("utf-8")

    @staticmethod
    def is_encrypted(data: bytes) -> bool:
        try:
            return bool(json.loads(data.decode("utf-8")).get("encrypted"))
        except (ValueError, AttributeError, UnicodeDecodeError):
            return False

    @classmethod
    def from_bytes(cls, data: bytes, passphrase: str | None = None, *, source: str = "pseudonym mapping") -> "PseudonymMap":
        try:
            obj = json.loads(bytes(data).decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"{source}: not a qualcode pseudonym mapping (not JSON)") from exc
        if isinstance(obj, Mapping) and obj.get("encrypted"):
            if not passphrase:
                raise InputError(f"{source} is encrypted and no passphrase was given",
                                 hint="pass the passphrase (for the CLI: --passphrase-env VAR naming the "
                                      "environment variable that holds it)")
            from cryptography.fernet import InvalidToken

            try:
                kdf = obj["kdf"]
                f = _fernet(passphrase, base64.b64decode(kdf["salt"]), int(kdf["n"]), int(kdf["r"]), int(kdf["p"]))
                plain = f.decrypt(obj["token"].encode("ascii"))
            except InvalidToken as exc:
                raise InputError(f"{source}: wrong passphrase (or the mapping was altered)") from exc
            except (KeyError, TypeError, ValueError) as exc:
                raise InputError(f"{source}: the encrypted mapping is damaged: {exc}") from exc
            obj = json.loads(plain.decode("utf-8"))
        return cls.from_dict(obj)

    def save(self, path: str | os.PathLike[str], passphrase: str | None = None) -> None:
        p = Path(path)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_bytes(self.to_bytes(passphrase))
        os.replace(tmp, p)

    @classmethod
    def load(cls, path: str | os.PathLike[str], passphrase: str | None = None) -> "PseudonymMap":
        p = Path(path)
        if not p.is_file():
            raise InputError("pseudonym mapping not found", path=str(p))
        return cls.from_bytes(p.read_bytes(), passphrase, source=str(p))
