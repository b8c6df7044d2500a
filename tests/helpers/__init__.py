"""Helpers shared by test modules; a test module imports from here, never from another test module.

- `waiting`: `poll`, a condition read again until it holds or a deadline passes.
- `issues`: an account config without escalation timers, past instants, issues over REST.
- `graphql`: GraphQL requests and the data of their answers.
- `statements`: the SQL statement counter of one request (`statements` fixture).
- `signals`: stations, signals and issues for detection tests, and detection run at a chosen `now`.
- `mqtt`: the test broker (`broker` fixture), accounts and gateway settings for MQTT tests.
- `mail`, `mail_sentinels`: email tests' accounts and issues, and the later events that show that
  nothing else was sent.

Fixtures defined here are registered in tests/conftest.py (`pytest_plugins`).
"""
