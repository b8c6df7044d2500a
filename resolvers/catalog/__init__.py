"""What a plant is made of: plants and station groups, stations, SKUs and non-production reasons,
schedules, the production calendar (planned time per station), the cause tree and the default set a
new account is seeded with.

Imports: `resolvers.common`, `resolvers.identity` and `models`."""
