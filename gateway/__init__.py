"""Composition: settings, the app factory, its lifespan and the command line."""
