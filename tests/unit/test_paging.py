"""The one paging convention (shared/paging.py): limits, cursors a client may send back
or mangle, and the keyset walk over a list that grows between pages."""
from __future__ import annotations

import pytest

from shared import paging
from shared.errors import ValidationFailed


@pytest.mark.parametrize("given, expected", [(None, 20), ("", 20), (1, 1), ("100", 100)])
def test_limit_defaults_to_20_and_allows_1_to_100(given: object, expected: int) -> None:
    assert paging.limit_of(given) == expected


@pytest.mark.parametrize("given", [0, 101, -1, "abc", "1.5", [3]])
def test_a_limit_out_of_range_names_the_field_in_russian(given: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        paging.limit_of(given)
    assert set(caught.value.fields) == {"limit"}
    assert "Должно" in caught.value.fields["limit"]


def test_a_cursor_gives_back_the_key_it_was_made_of() -> None:
    assert paging.decode(paging.encode(["2026-10", 7]), (str, int)) == ["2026-10", 7]
    assert paging.decode(None, (int,)) is None and paging.decode("", (int,)) is None


@pytest.mark.parametrize("cursor", [
    "!!!", "x" * 600, 5, paging.encode([1, 2]), paging.encode(["1"]), paging.encode([2**70]),
    paging.encode([True]), "e30",  # {} in base64
])
def test_a_forged_or_foreign_cursor_is_a_field_error_never_a_crash(cursor: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        paging.decode(cursor, (int,))
    assert caught.value.fields == {"cursor": "Неверный курсор"}


def test_a_cursor_moment_must_carry_its_zone() -> None:
    assert paging.moment("2026-10-01T10:00:00+00:00").tzinfo is not None
    for bad in ("2026-10-01T10:00:00", "вчера"):
        with pytest.raises(ValidationFailed):
            paging.moment(bad)


def test_the_last_page_has_no_next_and_an_empty_list_is_one_empty_page() -> None:
    assert paging.page([1, 2], 2, str, lambda n: [n]) == {"items": ["1", "2"], "next": None}
    assert paging.page([], 20, str, lambda n: [n]) == {"items": [], "next": None}


@pytest.mark.parametrize("newest_first", [False, True])
def test_pages_of_a_list_reach_every_item_once_even_when_it_grows(newest_first: bool) -> None:
    items = list(range(1, 12))
    ordered = sorted(items, reverse=newest_first)
    seen, cursor = [], None
    while True:
        got = paging.of_list(ordered, cursor, 4, lambda n: [n], (int,),
                             newest_first=newest_first)
        assert len(got["items"]) <= 4
        seen += got["items"]
        cursor = got["next"]
        if cursor is None:
            break
        # a new item between pages (first of a newest-first list, last of a queue)
        # neither repeats nor shifts the rest
        items.append(max(items) + 1)
        ordered = sorted(items, reverse=newest_first)
    assert len(seen) == len(set(seen))
    assert set(range(1, 12)) <= set(seen)
