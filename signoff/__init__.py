"""signoff: an evidence sign-off workflow engine for improvement boards."""

__version__ = "0.1.0"
