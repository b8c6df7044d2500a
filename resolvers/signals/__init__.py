"""Station signals: the payload, applying signals (running state, window counts, stops ended by
output), the HTTP receiver, timer-driven detection, live station status, ingestion watermarks, drop
counters and dead letters.

Imports: everything below it (`common`, `identity`, `catalog`, `mail`, `windows`, `issues`) and
`models`."""
