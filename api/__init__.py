"""The therapy-kg HTTP API (FastAPI)."""
