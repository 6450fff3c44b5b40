import pytest


@pytest.fixture
def clean_env() -> dict[str, str]:
    """An environment with nothing in it, so tests do not see the developer's variables."""
    return {}
