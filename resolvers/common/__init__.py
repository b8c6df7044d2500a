"""What every domain builds on: the caller (`actor`), domain errors and pydantic validation, code
look-ups, request bodies, configuration views, published changes, the read cache and single flight,
leases, the per-account issue revision, query scope, bulk SQL and the dialect helper, database-outage
classification, and the process's metrics.

Imports: `models` only (and the standard library and third-party libraries). Nothing here imports
another `resolvers` package."""
