"""Benchmarks behind `helpline15 bench NAME`: each module has `run(**options) -> dict`."""
