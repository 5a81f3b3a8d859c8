"""Training of style networks: the loop, its frozen configuration, content data."""
