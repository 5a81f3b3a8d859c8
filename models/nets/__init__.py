"""Style networks: the feed-forward transformer, its multi-style variant, style mixes, colour preservation."""
