import pytest


def pytest_collection_modifyitems(config, items):
    """`real_iggy` tests need the real stack built by tools/real-iggy/build; without it they skip and say so."""
    marked = [item for item in items if item.get_closest_marker("real_iggy")]
    if not marked:
        return
    from tests.real_iggy.stack import built_dir
    path, why = built_dir()
    if path is None:
        for item in marked:
            item.add_marker(pytest.mark.skip(reason=why))


@pytest.fixture
def clean_env() -> dict[str, str]:
    """An environment with nothing in it, so tests do not see the developer's variables."""
    return {}
