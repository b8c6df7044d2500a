"""The operations, transport-agnostic: keyword-only coroutines, one transaction each, publish after commit."""
