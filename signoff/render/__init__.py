"""Presentation only: rich tables on a terminal, plain lines when piped, JSON for other tools."""
