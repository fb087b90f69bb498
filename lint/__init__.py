"""serialcompat-lint: a libcst linter for serialization hazards."""
