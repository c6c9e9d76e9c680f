"""Use cases: one function per use case, taking the acting user; they audit and queue mail,
flush but never commit."""
