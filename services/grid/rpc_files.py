"""Imports and exports, the demo dataset, the audit of unmasked reads, and keeping the
locate index in step across instances."""

from __future__ import annotations

import base64

from nameko.events import BROADCAST, event_handler

from contracts.caller import Caller
from contracts.errors import Forbidden, ValidationFailed
from contracts.grid import GRID_CHANGED
from services.grid import audit, domain, exporting
from services.grid.base import GridBase, grid_rpc
from services.grid.importing.importer import Importer
from services.kit import isolated


class FileRpc(GridBase):
    @grid_rpc
    def import_file(
        self,
        kind: str,
        filename: str,
        content_b64: str,
        dry_run: bool = False,
        *,
        caller: Caller,
    ) -> dict:
        """Import grids (GeoJSON), households, places or staff (CSV or XLSX; UTF-8, UTF-8
        with BOM or GBK). The whole file is applied or nothing: with any bad row it raises
        ValidationFailed whose details are the report {rows, bad_rows: [{row, problems}]}.
        Importing the same file again changes nothing. `dry_run` answers the report only.

        Every row's grid code must lie in the caller's scopes: a file with any row outside
        them is refused whole (ValidationFailed naming each such row, also on a dry run)
        before anything else is judged or written."""
        try:
            content = base64.b64decode(content_b64, validate=True)
        except (ValueError, TypeError):
            raise ValidationFailed(details={"content_b64": "not base64"}) from None
        importer = self._importer(caller)
        report = importer.run(kind, filename, content, dry_run=dry_run, caller=caller)
        if report["bad_rows"] and not dry_run:
            raise ValidationFailed(
                f"{report['bad_row_count']} bad rows in {filename}; nothing was imported",
                details=report,
            )
        if report.get("applied"):
            self._after_import(importer)
        return report

    @grid_rpc
    def export_file(self, kind: str, fmt: str, prefix: str, *, caller: Caller) -> dict:
        """Export grids (geojson), households, places or staff (csv or xlsx) under a code
        prefix in scope: {filename, content_type, content_b64, rows}. Phones are unmasked
        only for roles that need them, and such an export is audited."""
        caller.require_visible(prefix, "prefix")
        unmasked = domain.may_unmask(caller.roles)
        out = exporting.export(self.store, self.vault, kind, fmt, prefix, unmasked)
        if unmasked and kind in ("households", "places", "staff"):
            audit.write(
                self.store,
                self.clock.now(),
                "export_unmasked",
                caller,
                None,
                prefix,
                prefix=prefix,
                export=kind,
                rows=out["rows"],
            )
        out["content_b64"] = base64.b64encode(out.pop("content")).decode()
        return out

    @grid_rpc
    def load_dataset(self, dataset: dict, user_ids: dict | None = None, *, caller: Caller):
        """Load a dataset such as demo.demo_dataset(): {divisions, grids (FeatureCollection),
        households, places, staff}; staff usernames map to user ids through `user_ids`.
        Idempotent: loading twice changes and duplicates nothing. Answers counts. Only a
        trusted caller (the demo loader) may: the dataset is not checked against scopes."""
        if not caller.is_trusted:
            raise Forbidden(details={"caller": "a trusted service"})
        importer = self._importer(caller)
        summary = importer.load_dataset(dataset, user_ids or {})
        self._after_import(importer)
        return summary

    @grid_rpc
    def list_audit(
        self, kind: str | None = None, actor: str | None = None, limit: int = 100, *, caller: Caller
    ):
        """Unmasked reads, ID look-ups, reveals and unmasked exports, newest first:
        [{at, kind, actor, roles, record_id, scope, detail}].

        Only entries whose `scope` (the grid read, the prefix exported, the scopes a look-up
        searched) lies in the caller's scopes, read from the database by scope."""
        found = audit.entries(self.store, caller, kind, actor, max(1, min(int(limit), 1000)))
        return [audit.view(e) for e in found]

    def _importer(self, caller: Caller) -> Importer:
        # a file is read in a child process: a big or hostile one must neither hold the other
        # calls this instance answers meanwhile nor take its memory (kit/isolated.py)
        return Importer(
            self.store,
            self.outbox,
            self.clock.now(),
            self.vault,
            actor=caller.actor,
            offload=isolated.run,
        )

    def _after_import(self, importer: Importer) -> None:
        self.outbox.wake()
        for code, boundary, version in importer.changed_grids:
            self.grid_index.put(code, boundary, version)

    # --- keep the locate index in step across instances --------------------------------
    @event_handler("grid", GRID_CHANGED, handler_type=BROADCAST, reliable_delivery=False)
    def on_grid_changed(self, event: dict) -> None:
        payload = event.get("payload", {})
        code = payload.get("code")
        if not code or self.grid_index.known_version(code) >= int(payload.get("version", 0)):
            return
        doc = self.store.grid(code)
        if doc is not None:
            boundary = None if doc.get("retired") else doc.get("boundary")
            self.grid_index.put(code, boundary, doc["version"])
