"""Application: the command line, the report runner and the sample generator."""
