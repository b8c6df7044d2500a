"""OEE and downtime analysis (what it reads, the figures of one window, the per-station result) and
the daily summary built from it.

Imports: every package below it except `demo`, and `models`."""
