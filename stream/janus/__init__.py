"""Janus Gateway support: a minimal config writer, an HTTP-API client and the broadcast publisher."""
