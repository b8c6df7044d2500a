"""Preferences → recipients, jinja2 templates, the outbox, the SMTP sender and the daily-summary scheduler."""
