"""Imports: grids as GeoJSON; households, places and staff as CSV or XLSX; and datasets
(the demo data). In four parts, in the order a file goes through them:

1. decoding.py — bytes to rows (encodings, XLSX as a capped stream, in a child process);
2. columns.py  — rows to records (the Chinese column and value maps);
3. plan.py     — records loaded through their schemas, the scope check on what was loaded,
                 then the plan the aggregates build (one builder per record kind);
4. apply.py    — the plan written through the aggregates' one write path, in one
                 transaction, its events recorded in bulk.

Every row is judged before anything is written; a file with any bad row writes nothing
and its report names each bad row and why. Records match on natural keys (grid code;
address; grid + kind + name; grid + user + post), so importing the same file again
changes nothing.

`importer.py` runs the four parts (`Importer`). This package imports nothing itself, so the
child process that reads a file (`columns.read_records`, through `services/kit/isolated.py`)
loads only decoding and the column maps, not the service.
"""
