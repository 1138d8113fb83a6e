"""The suite's own scheduling (tests/conftest.py): the longest modules start first."""

from pathlib import Path

from conftest import HEAVY_FIRST, pytest_collection_modifyitems

TESTS = Path(__file__).resolve().parent


def test_every_module_named_longest_first_exists():
    """A renamed or removed module would drop out of the order silently."""
    missing = [name for name in HEAVY_FIRST if not (TESTS / f"{name}.py").is_file()]
    assert not missing
    assert len(set(HEAVY_FIRST)) == len(HEAVY_FIRST)


class _Item:
    def __init__(self, module: str, name: str):
        self.path = TESTS / f"{module}.py"
        self.name = name


def test_the_longest_modules_come_first_and_the_rest_keep_their_order():
    items = [_Item("test_api", "a"), _Item(HEAVY_FIRST[1], "b1"), _Item("test_cli", "c"),
             _Item(HEAVY_FIRST[0], "d"), _Item(HEAVY_FIRST[1], "b2"), _Item("test_api", "e")]
    pytest_collection_modifyitems(None, None, items)
    assert [item.name for item in items] == ["d", "b1", "b2", "a", "c", "e"]
