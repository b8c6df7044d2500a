"""Per-minute station windows: minute arithmetic, closing a finished minute (its shift, schedule,
downtime and run-time fields) and re-closing after an issue changes, and the window listing.

Imports: `resolvers.common`, `resolvers.identity`, `resolvers.catalog` and `models`."""
