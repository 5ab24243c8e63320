"""The generator's view of a catalog column type: finer than the catalog's kinds, because the
values it invents must look like the vendor's (a NUMBER(1,0) is a 0/1 flag, Stellar's
NVARCHAR2(3) columns hold Yes/No, CHAR(n) is a fixed-width code, NCLOB holds long notes)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from marina_common.catalog import Column


@dataclass(frozen=True)
class ColType:
    """kind: int | bool | decimal | double | text | char | clob | flag | date | timestamp."""

    kind: str
    precision: int = 0
    scale: int = 0
    length: int | None = None

    @property
    def is_text(self) -> bool:
        return self.kind in ("text", "char", "clob", "flag")


@functools.cache
def ctype(column: Column, system: str) -> ColType:
    """The generator kind of a catalog column of `system`."""
    if column.kind in ("integer", "decimal"):
        precision, scale = column.precision_scale
        if scale:
            return ColType("decimal", precision, scale)
        return ColType("bool", 1) if precision == 1 else ColType("int", precision)
    if column.kind != "text":
        return ColType(column.kind)
    if column.is_lob:
        return ColType("clob")
    length = column.max_length
    if column.base_type == "CHAR":
        return ColType("char", length=length)
    return ColType("flag", length=length) if system == "stellar" and length == 3 else ColType("text", length=length)
