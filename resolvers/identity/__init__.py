"""Who may do what: accounts, users, API keys, access codes, authentication and per-account
configuration.

Imports: `resolvers.common` and `models`."""
