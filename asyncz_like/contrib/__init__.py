"""Integrations with other frameworks: :mod:`asyncz_like.contrib.asgi` (ASGI lifespan)."""
