"""Reporting: findings in words, tables, charts, metrics, HTML and CSV exports, one module per notebook."""
