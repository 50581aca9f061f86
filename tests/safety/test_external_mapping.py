"""RugCheck / GoPlus bodies -> opinions: documented fields, string flags, schema drift, garbage."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sniper_bot.safety.external.mapping import (
    GOPLUS,
    RUGCHECK,
    TRUSTED_CAP,
    MalformedOpinion,
    parse_goplus,
    parse_rugcheck,
)

MINT = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr"


def rugcheck_summary(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "tokenProgram": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
        "tokenType": "",
        "risks": [
            {
                "name": "Freeze Authority still enabled",
                "value": "",
                "description": "Tokens can be frozen and prevented from trading in the future",
                "score": 7500,
                "level": "danger",
            },
            {
                "name": "Mutable metadata",
                "value": "",
                "description": "Token metadata can be changed by the owner",
                "score": 500,
                "level": "warn",
            },
        ],
        "score": 8001,
        "score_normalised": 62,
        "lpLockedPct": 0,
    }
    body.update(changes)
    return body


def goplus_body(fields: dict[str, Any], key: str = MINT) -> dict[str, Any]:
    return {"code": 1, "message": "OK", "result": {key: fields}}


CLEAN_GOPLUS: dict[str, Any] = {
    "mintable": {"status": "0", "authority": []},
    "freezable": {"status": "0", "authority": []},
    "closable": {"status": "0", "authority": []},
    "balance_mutable_authority": {"status": "0", "authority": []},
    "metadata_mutable": {"status": "0", "metadata_upgrade_authority": []},
    "non_transferable": "0",
    "default_account_state": "1",
    "default_account_state_upgradable": {"status": "0", "authority": []},
    "transfer_fee": {},
    "transfer_fee_upgradable": {"status": "0", "authority": []},
    "transfer_hook": [],
    "transfer_hook_upgradable": {"status": "0", "authority": []},
    "trusted_token": "0",
    "total_supply": "1000000000",
    "creators": [
        {"address": "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin", "malicious_address": 0}
    ],
}


# --- RugCheck -------------------------------------------------------------------------------------


def test_rugcheck_danger_risk_lifts_the_normalised_score_to_70_and_names_the_risks() -> None:
    opinion = parse_rugcheck(rugcheck_summary())
    assert opinion.source == RUGCHECK
    assert opinion.score == 70
    assert opinion.risks == ("danger: Freeze Authority still enabled", "warn: Mutable metadata")


def test_rugcheck_warn_only_keeps_its_own_normalised_score() -> None:
    body = rugcheck_summary(
        risks=[{"name": "Mutable metadata", "level": "warn", "score": 500}], score_normalised=8
    )
    assert parse_rugcheck(body).score == 8


def test_rugcheck_without_normalised_score_derives_it_from_risk_levels() -> None:
    body = rugcheck_summary()
    del body["score_normalised"]
    assert parse_rugcheck(body).score == 90  # one danger (70) + one warn (20)


def test_rugcheck_clean_token_has_an_opinion_with_no_risks() -> None:
    opinion = parse_rugcheck({"risks": [], "score": 1, "score_normalised": 1})
    assert (opinion.score, opinion.risks) == (1, ())


def test_rugcheck_schema_drift_upper_case_keys_string_numbers_extra_fields() -> None:
    body = {
        "Score_Normalised": "55",
        "RISKS": [{"name": "Large Amount of LP Unlocked", "value": "93%", "level": "DANGER"}],
        "newField": {"nested": [1, 2]},
    }
    opinion = parse_rugcheck(body)
    assert opinion.score == 70
    assert opinion.risks == ("danger: Large Amount of LP Unlocked (93%)",)


def test_rugcheck_skips_unreadable_risk_entries() -> None:
    body = rugcheck_summary(risks=["oops", None, {"level": "danger"}, {"name": "Low Liquidity"}])
    opinion = parse_rugcheck(body)
    assert opinion.risks == ("info: Low Liquidity",)
    assert opinion.score == 62


@pytest.mark.parametrize(
    "body", [None, [], "error", 12, {"message": "not found"}, {"risks": "none"}]
)
def test_rugcheck_without_a_verdict_is_malformed(body: Any) -> None:
    with pytest.raises(MalformedOpinion):
        parse_rugcheck(body)


# --- GoPlus ---------------------------------------------------------------------------------------


def test_goplus_clean_token_scores_zero() -> None:
    opinion = parse_goplus(goplus_body(CLEAN_GOPLUS), MINT)
    assert (opinion.source, opinion.score, opinion.risks) == (GOPLUS, 0, ())


@pytest.mark.parametrize(
    ("field", "value", "risk"),
    [
        ("freezable", {"status": "1", "authority": [{"address": "x"}]}, "danger: freeze authority"),
        ("freezable", "1", "danger: freeze authority"),
        ("balance_mutable_authority", {"status": "1"}, "danger: balances can be moved"),
        ("non_transferable", "1", "danger: non-transferable"),
        ("default_account_state", "2", "danger: new accounts start frozen"),
        ("transfer_hook", [{"address": "HookProgram111"}], "danger: transfer hook"),
        ("transfer_fee", {"current_fee_rate": {"fee_rate": "2500"}}, "danger: transfer fee 2500"),
        ("mintable", {"status": "1"}, "warn: mint authority live"),
        ("transfer_fee", {"current_fee_rate": {"fee_rate": "50"}}, "warn: transfer fee 50 bps"),
        ("transfer_fee_upgradable", {"status": "1"}, "warn: transfer fee can be raised"),
        ("metadata_mutable", {"status": "1"}, "warn: metadata mutable"),
        ("closable", "1", "warn: mint can be closed"),
        ("creators", [{"address": "a", "malicious_address": 1}], "danger: creator address"),
    ],
)
def test_goplus_string_flags_become_named_risks(field: str, value: Any, risk: str) -> None:
    opinion = parse_goplus(goplus_body({**CLEAN_GOPLUS, field: value}), MINT)
    assert [r for r in opinion.risks if r.startswith(risk)], opinion.risks
    expected = 70 if risk.startswith("danger") else 20
    assert opinion.score == expected


def test_goplus_result_key_is_matched_case_insensitively() -> None:
    opinion = parse_goplus(goplus_body({**CLEAN_GOPLUS, "freezable": "1"}, MINT.lower()), MINT)
    assert opinion.score == 70


def test_goplus_missing_fields_are_not_analysed_not_safe() -> None:
    only_mintable = parse_goplus(goplus_body({"mintable": {"status": "1"}}), MINT)
    assert only_mintable.score == 20
    with pytest.raises(MalformedOpinion, match="no analysed field"):
        parse_goplus(goplus_body({"total_supply": "10", "unknown_new_field": "1"}), MINT)


def test_goplus_trusted_token_is_capped_below_medium() -> None:
    usdc_like = {**CLEAN_GOPLUS, "mintable": "1", "freezable": "1", "trusted_token": "1"}
    opinion = parse_goplus(goplus_body(usdc_like), MINT)
    assert opinion.score == TRUSTED_CAP
    assert "info: GoPlus lists this as a trusted, well-known token" in opinion.risks


@pytest.mark.parametrize(
    "body",
    [
        None,
        {"code": 1, "message": "OK", "result": {}},
        {"code": 1, "result": {"OtherMint": dict(CLEAN_GOPLUS)}},
        {"code": 4029, "message": "too many requests", "result": None},
        {"code": 1, "result": "pending"},
        {"code": 1, "result": {MINT: "pending"}},
    ],
)
def test_goplus_without_this_mint_analysed_is_malformed(body: Any) -> None:
    with pytest.raises(MalformedOpinion):
        parse_goplus(body, MINT)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
_FLAG_VALUES = st.one_of(
    st.sampled_from(["0", "1", "2", "", "yes", 0, 1, None]),
    st.fixed_dictionaries({"status": st.sampled_from(["0", "1", 1, None])}),
    _JSON,
)


@given(_JSON)
def test_rugcheck_any_json_is_an_opinion_in_range_or_malformed(body: Any) -> None:
    try:
        opinion = parse_rugcheck(body)
    except MalformedOpinion:
        return
    assert opinion.score is not None
    assert 0 <= opinion.score <= 100


@given(st.dictionaries(st.sampled_from([*sorted(CLEAN_GOPLUS), "x"]), _FLAG_VALUES))
def test_goplus_any_field_values_give_an_opinion_in_range_or_malformed(
    fields: dict[str, Any],
) -> None:
    try:
        opinion = parse_goplus(goplus_body(fields), MINT)
    except MalformedOpinion:
        return
    assert opinion.score is not None
    assert 0 <= opinion.score <= 100
    assert all(r.split(":")[0] in {"danger", "warn", "info"} for r in opinion.risks)
