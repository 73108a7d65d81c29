"""triage: failure triage for GPU and HPC fleets.

The stages, each a package or module of its own:
  triage.discover   files, folders and archives to ingest, and the host each belongs to
  triage.sources    one parser per input format, sniffed from content
  triage.ingest     discover + parse + append, one file at a time
  triage.store      the DuckDB store (tables declared in triage.schema)
  triage.cli        the `triage` command, thin over the above

    from triage.store import Store
    from triage.ingest import ingest
    with Store.open("triage.duckdb") as store:
        ingest(store, ["fleet/"])
        store.query("SELECT host, count(*) FROM events GROUP BY host")
"""
