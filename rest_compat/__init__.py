"""The /api paths of the Busroot seeds: parse params → call resolvers → envelope/CSV. No business logic."""
