"""Benchmarks: minigrad and PyTorch side by side in one process, reported as ratios."""
