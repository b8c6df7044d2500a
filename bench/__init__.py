"""Throughput benchmarks for the Andon gateway.

Each benchmark measures the gateway against a baseline in the same run (the
build machines are small and shared, so only same-run ratios are meaningful)
and rewrites its own section of docs/benchmarks.md. Run them all with
``python -m bench`` (``make bench``).
"""
