"""The operations, transport-agnostic: keyword-only coroutines, one transaction each, publish after commit.

One package per domain, imported one way only (each may import those before it, never one after it):

    common → identity → catalog → mail → windows → issues → signals → analysis → demo

`tests/test_import_layers.py` checks the order."""
