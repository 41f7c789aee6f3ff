"""Workflow definitions (data in workflows/) turned into one shared state machine per workflow."""
