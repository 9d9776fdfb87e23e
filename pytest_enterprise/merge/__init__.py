"""Merging the JSON reports of CI shards or tox environments into one run (docs/merge.md)."""
