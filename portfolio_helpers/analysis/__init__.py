"""Analysis: computations that return frames and numbers (no sentences, no charts)."""
