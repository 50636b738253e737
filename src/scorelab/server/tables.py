"""The tables a run folder may offer for download (an allow-list: name -> file), and their formats."""

TABLES = {
    "citizens": "citizens.parquet", "daily": "daily.parquet", "measures": "measures.parquet",
    "list_events": "list_events.parquet", "ledger": "ledger.parquet", "records": "records.parquet",
    "events": "events.parquet", "appeals": "appeals.parquet", "ties_cut": "ties_cut.parquet",
    "event_counts": "event_counts.parquet",
}
FORMATS = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
