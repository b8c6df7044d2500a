"""The demo plant: its layout, the week's story per station, and seeding a week of history.

Imports: any `resolvers` package (it is the top) and `models`."""
