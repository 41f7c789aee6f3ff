"""Persistence: SQLModel tables, the database and its unit of work, the fast read path, Alembic glue.

Everything that knows SQLite (pragmas, BEGIN IMMEDIATE, file URIs) lives in this package.
"""
