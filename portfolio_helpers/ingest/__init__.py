"""Ingest: reading raw exports into typed tables."""
