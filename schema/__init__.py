"""The GraphQL shape: strawberry types, Query/Mutation/Subscription composed per area, context, permissions."""
