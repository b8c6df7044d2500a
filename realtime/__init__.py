"""Event bus, live fan-out, signal ingestion, timers: the gateway's moving parts."""
