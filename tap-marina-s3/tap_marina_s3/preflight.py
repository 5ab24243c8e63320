"""What a run checks before it reads anything: every enabled system has a place to read its
exports from, that place can be listed, and its newest export is recent enough.

A production run must never fall back to a local folder (the demo's sample exports) because a
bucket variable is unset, and a vendor's missed daily drop must be an alert rather than a quiet
"nothing new": both are raised here, before the first table is read, with the setting to fix.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Mapping

from marina_common.catalog import SYSTEMS
from marina_common.exports import ExportRef, Store

logger = logging.getLogger("tap-marina-s3")


class ConfigurationError(RuntimeError):
    """A setting is missing or contradicts another; nothing has been read."""


class LateExportError(RuntimeError):
    """A system's newest export is older than its `<system>_max_export_age_hours`."""


def bucket_variable(system: str) -> str:
    """The project's variable for a system's bucket (meltano.yml maps it in staging and prod)."""
    return f"MARINA_{system.upper()}_BUCKET"


def location_problem(config: Mapping, system: str, environment: str) -> str | None:
    """Why an enabled system has nowhere to read from, or None. meltano.yml sets a local folder
    only in `dev`, so in any other environment an unset bucket lands here."""
    if config.get(f"{system}_bucket") or config.get(f"{system}_path"):
        return None
    if environment:
        return (
            f"{bucket_variable(system)} is not set for environment {environment}: set it to the "
            f"bucket of the {SYSTEMS[system].label} exports (a local folder only through "
            f"{system}_path, or {system}_enabled=false to skip the system)"
        )
    return (
        f"{system}: neither {system}_bucket nor {system}_path is set: set one (or "
        f"{system}_enabled=false to skip the system)"
    )


def late_problem(
    system: str, refs: list[ExportRef], max_hours: float, where: str, now: dt.datetime | None = None
) -> str | None:
    """Why the newest export of `system` is too old (or missing), or None. Age counts from
    the export's arrival (its LastModified / file time), which is when a drop happens."""
    if not max_hours:
        return None
    label = SYSTEMS[system].label
    setting = f"{system}_max_export_age_hours={max_hours:g}"
    if not refs:
        return (
            f"Late {label} export: no export at all in {where} ({setting}); check the "
            "bucket/prefix, or ask the vendor whether the export was sent"
        )
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    newest = max(refs, key=lambda r: (r.last_modified, r.key))
    age = (now - newest.last_modified).total_seconds() / 3600
    if age <= max_hours:
        return None
    return (
        f"Late {label} export: nothing new since {newest.last_modified:%Y-%m-%d %H:%M} UTC "
        f"({age:.0f} h ago, newest {newest.key} in {where}; {setting}); ask the vendor "
        "whether today's export was sent"
    )


def check(config: Mapping, systems: list[str], store_for) -> None:
    """Raise ConfigurationError, the store's StorageError (folder or bucket not listable) or
    LateExportError for the first system that cannot run; for a late export, warn instead when
    `late_export` is `warn`. `store_for(system)` returns the system's Store. Listing here costs
    one listing per system (the run lists again when it opens the exports) and surfaces a
    missing folder or bucket before any table is read."""
    environment = os.environ.get("MELTANO_ENVIRONMENT", "")
    for system in systems:
        if problem := location_problem(config, system, environment):
            raise ConfigurationError(problem)
    for system in systems:
        store: Store = store_for(system)
        pattern = config.get(f"{system}_key_pattern") or SYSTEMS[system].key_pattern
        refs = store.list(system, pattern)
        where = (
            f"s3://{config[f'{system}_bucket']}/{config.get(f'{system}_prefix') or ''}"
            if config.get(f"{system}_bucket")
            else str(config.get(f"{system}_path"))
        )
        max_hours = float(config.get(f"{system}_max_export_age_hours") or 0)
        problem = late_problem(system, refs, max_hours, where)
        if problem is None:
            continue
        if (config.get("late_export") or "fail") == "warn":
            logger.warning("%s", problem)
        else:
            raise LateExportError(problem + "; or set late_export=warn to load what is there")
