"""Use cases: one unit of work each. The CLI calls these; they call the domain and the store."""
