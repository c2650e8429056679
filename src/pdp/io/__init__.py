"""The edges that touch disk: reading a policy set's files, and the decision log."""
