"""Code the tests share: import it as `tests.support.<module>`; the fixtures are in tests/conftest.py."""
