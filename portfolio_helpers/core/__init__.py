"""Core: the data contract, configuration, errors, file writing and shared vocabulary."""
