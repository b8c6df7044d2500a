"""Helpers shared by test modules: waits with deadlines, issue and tenant set-up, statement counters.

Test modules import from here, never from one another (a test module is not a library).
"""
