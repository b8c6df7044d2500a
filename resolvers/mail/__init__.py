"""Email: writing issue and escalation emails into the outbox inside the change's transaction, who
receives them, the outbox's delivery state and retention, escalation reminders and the caller's
notification preferences.

Imports: `resolvers.common`, `resolvers.identity`, `resolvers.catalog` and `models`."""
