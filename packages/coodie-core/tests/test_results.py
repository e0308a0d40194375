"""Pages, paging tokens and conditional-write outcomes."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coodie.exceptions import InvalidQueryError
from coodie.results import (
    LWTResult,
    PagedResult,
    decode_paging_token,
    encode_paging_token,
)


@given(st.binary(max_size=512))
def test_a_paging_state_round_trips_through_a_url_safe_token(state: bytes) -> None:
    token = encode_paging_token(state)
    assert token is not None

    assert decode_paging_token(token) == state
    assert set(token) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )


def test_no_paging_state_means_no_token() -> None:
    assert encode_paging_token(None) is None
    assert decode_paging_token(None) is None


@pytest.mark.parametrize("token", ["a", "abcde", "abc$", "\u00e9t\u00e9"])
def test_a_garbage_token_is_an_invalid_query(token: str) -> None:
    with pytest.raises(InvalidQueryError, match="is not a paging token"):
        decode_paging_token(token)


@pytest.mark.parametrize("token", ["!!!!", "%%%%", "ab!cd", "AAAA AAAA"])
def test_a_token_with_foreign_characters_is_an_invalid_query(token: str) -> None:
    with pytest.raises(InvalidQueryError, match="is not a paging token"):
        decode_paging_token(token)


def test_a_paged_result_says_whether_more_may_follow() -> None:
    last = PagedResult(documents=["a", "b"])
    middle = PagedResult(documents=["a"], paging_token="AQI")

    assert not last.has_more
    assert middle.has_more
    assert list(last) == ["a", "b"]
    assert len(last) == 2


def test_an_lwt_result_is_true_only_when_applied() -> None:
    assert LWTResult(applied=True)
    assert not LWTResult(applied=False, existing="row")
