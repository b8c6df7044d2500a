"""Issues: listing and the ongoing board, creation by hand, lifecycle events, ending, the writes the
system makes (detection and signals), automatic escalation, wire views and the resumable feed.

Imports: `resolvers.common`, `resolvers.identity`, `resolvers.catalog`, `resolvers.mail`,
`resolvers.windows` and `models`."""
