"""Failure classification: every provider answer maps to exactly one error class."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sniper_bot.chain import wire
from sniper_bot.chain.errors import (
    PreflightFailure,
    RpcError,
    RpcMalformedResponse,
    RpcNodeBehind,
    RpcRateLimited,
    RpcRequestError,
    RpcTransportError,
)
from sniper_bot.errors import PermanentError, TemporaryError


def envelope(error: dict[str, object]) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "error": error, "id": 1}).encode()


def test_result_is_returned_as_decoded_json() -> None:
    body = b'{"jsonrpc":"2.0","result":{"context":{"slot":3},"value":12},"id":1}'
    assert wire.decode_single("helius", body) == {"context": {"slot": 3}, "value": 12}


def test_null_result_is_a_result_not_an_error() -> None:
    assert wire.decode_single("helius", b'{"jsonrpc":"2.0","result":null,"id":1}') is None


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"code": 429, "message": "Too many requests for a specific RPC call"}, RpcRateLimited),
        ({"code": -32429, "message": "slow down"}, RpcRateLimited),
        ({"code": -32005, "message": "Rate limit exceeded"}, RpcRateLimited),
        ({"code": -32005, "message": "Node is behind by 42 slots"}, RpcNodeBehind),
        ({"code": -32016, "message": "Minimum context slot has not been reached"}, RpcNodeBehind),
        ({"code": -32602, "message": "Invalid params: bad base58"}, RpcRequestError),
        ({"code": -32601, "message": "Method not found"}, RpcRequestError),
        ({"code": -32603, "message": "Internal error"}, RpcTransportError),
        ({"code": "x", "message": "no int code"}, RpcMalformedResponse),
    ],
)
def test_jsonrpc_error_codes_are_classified(
    error: dict[str, object], expected: type[RpcError]
) -> None:
    with pytest.raises(expected) as info:
        wire.decode_single("quicknode", envelope(error))
    assert info.value.endpoint == "quicknode"


def test_rate_limits_and_node_behind_are_retryable_and_certainly_not_processed() -> None:
    for error in ({"code": 429, "message": "x"}, {"code": -32005, "message": "Node is unhealthy"}):
        with pytest.raises(TemporaryError) as info:
            wire.decode_single("helius", envelope(error))
        assert isinstance(info.value, RpcError)
        assert info.value.not_processed


def test_preflight_failure_carries_err_logs_and_units() -> None:
    data = {
        "err": {"InstructionError": [3, {"Custom": 6001}]},
        "logs": ["Program JUP6 failed: custom program error: 0x1771"],
        "accounts": None,
        "unitsConsumed": 123456,
    }
    body = envelope({"code": -32002, "message": "Transaction simulation failed: x", "data": data})
    with pytest.raises(PreflightFailure) as info:
        wire.decode_single("helius", body)
    failure = info.value
    assert isinstance(failure, PermanentError)
    assert failure.err == {"InstructionError": [3, {"Custom": 6001}]}
    assert failure.logs == ["Program JUP6 failed: custom program error: 0x1771"]
    assert failure.units_consumed == 123456
    assert failure.code == -32002


def test_preflight_failure_with_odd_data_shape_is_still_a_preflight_failure() -> None:
    # solders panics (PanicException, a BaseException) on exactly this body.
    body = envelope({"code": -32002, "message": "Transaction simulation failed", "data": []})
    with pytest.raises(PreflightFailure) as info:
        wire.decode_single("helius", body)
    assert info.value.err is None
    assert info.value.logs == []


@pytest.mark.parametrize(
    "body",
    [b"<html>bad gateway</html>", b"[]", b"42", b'{"jsonrpc":"2.0","id":1}', b"", b'"ok"'],
)
def test_bodies_that_are_not_jsonrpc_are_malformed(body: bytes) -> None:
    with pytest.raises(RpcMalformedResponse):
        wire.decode_single("public", body)


json_documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["code", "message", "data", "error", "result", "id"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)
NOT_JSON = object()


def check_decoded(body: bytes, document: object) -> None:
    """A JSON-RPC object without an error gives back its ``result``, exactly; anything else raises
    an ``RpcError`` (``RpcMalformedResponse`` when there is no error object to classify)."""
    if isinstance(document, dict) and document.get("error") is None and "result" in document:
        assert wire.decode_single("public", body) == document["result"]
        return
    with pytest.raises(RpcError) as info:
        wire.decode_single("public", body)
    if not isinstance(document, dict) or document.get("error") is None:
        assert isinstance(info.value, RpcMalformedResponse)


def parsed_or_not_json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return NOT_JSON


@given(st.binary(max_size=200) | json_documents.map(lambda d: json.dumps(d).encode()))
def test_any_body_yields_its_result_or_an_rpc_error(body: bytes) -> None:
    check_decoded(body, parsed_or_not_json(body))


@given(json_documents)
def test_any_json_document_yields_its_result_or_an_rpc_error(document: object) -> None:
    check_decoded(json.dumps(document).encode(), document)


@given(st.none() | st.booleans() | st.integers() | st.text(max_size=20) | json_documents)
def test_a_result_comes_back_exactly_as_sent(result: object) -> None:
    body = json.dumps({"jsonrpc": "2.0", "result": result, "id": 3}).encode()
    assert wire.decode_single("public", body) == result


def test_batch_answers_are_matched_by_id_not_position() -> None:
    body = json.dumps(
        [
            {"jsonrpc": "2.0", "result": 2, "id": 8},
            {"jsonrpc": "2.0", "error": {"code": -32602, "message": "bad"}, "id": 7},
        ]
    ).encode()
    first, second, third = wire.decode_batch("helius", body, [7, 8, 9])
    assert isinstance(first, RpcRequestError)
    assert second == 2
    assert isinstance(third, RpcMalformedResponse)


def test_http_429_reads_retry_after_seconds() -> None:
    err = wire.error_from_http("helius", 429, b"", "7", now_epoch_s=0.0)
    assert isinstance(err, RpcRateLimited)
    assert err.retry_after == 7.0


def test_http_429_reads_retry_after_as_http_date() -> None:
    err = wire.error_from_http(
        "helius", 429, b"", "Thu, 01 Jan 1970 00:00:30 GMT", now_epoch_s=10.0
    )
    assert isinstance(err, RpcRateLimited)
    assert err.retry_after == pytest.approx(20.0)


def test_http_403_tells_the_operator_to_check_the_key() -> None:
    err = wire.error_from_http("quicknode", 403, b"forbidden", None, now_epoch_s=0.0)
    assert isinstance(err, RpcTransportError)
    assert "API key" in err.message


@given(st.text(max_size=40), st.floats(min_value=0, max_value=4e9))
def test_retry_after_is_none_or_within_bounds(value: str, now: float) -> None:
    parsed = wire.parse_retry_after(value, now)
    assert parsed is None or 0.0 <= parsed <= 300.0


@given(st.integers(min_value=0, max_value=10_000))
def test_retry_after_delta_seconds_round_trip_below_the_cap(seconds: int) -> None:
    assert wire.parse_retry_after(str(seconds), 0.0) == min(float(seconds), 300.0)


def test_guard_turns_a_solders_panic_into_malformed_response() -> None:
    from solders.rpc.responses import GetSlotResp

    bad = '{"jsonrpc":"2.0","error":{"code":-32002,"message":"x","data":[]},"id":1}'
    with pytest.raises(RpcMalformedResponse) as info:
        wire.guarded("helius", "getSlot", lambda: GetSlotResp.from_json(bad))
    assert "PanicException" in info.value.message
