"""Whole-set questions: the decision space, the set's warnings, `pdp query` and `pdp diff`."""
