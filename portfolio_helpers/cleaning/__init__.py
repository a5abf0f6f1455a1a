"""Cleaning: standardization, duplicate customers, quality scorecard, privacy, the cleaning pipeline."""
