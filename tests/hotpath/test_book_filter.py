"""``LaunchFilter``: the explicit, bounded target filter of the armed book (no code, no eval)."""

from __future__ import annotations

import pytest

from sniper_bot.domain.launch import InvalidLaunchFilter, LaunchFilter


def test_clauses_and_together_terms_or_within_a_clause_case_insensitively() -> None:
    f = LaunchFilter(name_contains=("Pepe", "frog"), symbol_contains=("PP",), sources=("pumpfun",))
    assert f.matches("Baby PEPE", "xppx", "pumpfun")
    assert f.matches("frogger", "PP", "pumpfun")
    assert not f.matches("Baby PEPE", "xppx", "raydium_v4")  # source clause
    assert not f.matches("Baby PEPE", "DOG", "pumpfun")  # symbol clause
    assert not f.matches(None, "PP", "pumpfun")  # unknown name fails a name clause
    assert LaunchFilter(sources=("pumpswap",)).matches(None, None, "pumpswap")


def test_equal_filters_are_equal_values_with_one_canonical_json() -> None:
    a = LaunchFilter(name_contains=(" Moon", "cat", "CAT"), sources=("pumpfun", "pumpfun"))
    b = LaunchFilter.from_json('{"sources":["pumpfun"],"name_contains":["cat","moon"]}')
    assert a == b
    assert a.to_json() == b.to_json() == '{"name_contains":["cat","moon"],"sources":["pumpfun"]}'
    assert LaunchFilter.from_json(a.to_json()) == a


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("{}", "at least one of name_contains, symbol_contains, sources"),
        ('{"name_contains":["a"],"eval":"x"}', "unknown launch filter key"),
        ('{"name_contains":"pepe"}', "name_contains must be a list of strings"),
        ('{"name_contains":[1]}', "name_contains must be a list of strings"),
        ('{"name_contains":["  "]}', "empty term"),
        ('{"symbol_contains":["' + "x" * 33 + '"]}', "at most 32"),
        ('{"name_contains":[' + ",".join(f'"t{i}"' for i in range(9)) + "]}", "9 terms; at most 8"),
        ('{"sources":["binance"]}', "'binance' is not one of"),
        ('{"name_contains":["a\\u0000b"]}', "control characters"),
        ("[1]", "must be a JSON object"),
        ("{nope", "must be JSON"),
        ('{"name_contains":["' + "a" * 2000 + '"]}', "at most 1024 bytes"),
    ],
)
def test_malformed_or_oversized_filters_are_refused_with_the_reason(text: str, error: str) -> None:
    with pytest.raises(InvalidLaunchFilter, match=error):
        LaunchFilter.from_json(text)
