"""Persistence: SQLAlchemy 2 engine, sessions and the declarative base."""
