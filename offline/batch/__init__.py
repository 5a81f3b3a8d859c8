"""``stylecast batch``: many recordings, long recordings split at scene cuts and into overlapping
chunks, run as resumable video jobs in one process or on Ray actors (see docs/offline.md)."""
