"""The control API's Geyser routes: faults in and out, dropping streams, refusals."""

from __future__ import annotations

import aiohttp
import grpc
import pytest

from yellowstone_proto import geyser_pb2 as pb

from .conftest import Geyser, read_updates


async def test_geyser_control_routes(geyser: Geyser) -> None:
    assert geyser.net.urls is not None
    control = geyser.net.urls.control
    call = await geyser.subscribe(
        pb.SubscribeRequest(slots={"s": pb.SubscribeRequestFilterSlots()})
    )
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{control}/geyser") as r:
            (state,) = await r.json()
        assert state["name"] == "geyser"
        assert state["url"] == geyser.url
        assert state["streams"] == 1
        async with http.put(f"{control}/geyser/geyser/faults", json={"lag_ms": 1}) as r:
            assert r.status == 200
            assert (await r.json())["faults"]["lag_ms"] == 1
        assert geyser.endpoint.faults.lag_ms == 1
        async with http.put(f"{control}/geyser/geyser/faults", json={"drop_afterr": 1}) as r:
            assert r.status == 400
            assert "unknown geyser fault fields: ['drop_afterr']" in (await r.json())["error"]
        async with http.put(f"{control}/geyser/geyser/faults", json={"queue_limit": 0}) as r:
            assert r.status == 400
            assert "queue_limit must be >= 1" in (await r.json())["error"]
        async with http.put(f"{control}/geyser/nope/faults", json={}) as r:
            assert r.status == 404
            assert "no geyser endpoint 'nope'" in (await r.json())["error"]
        async with http.post(f"{control}/geyser/geyser/drop-streams") as r:
            assert await r.json() == {"dropped": 1}
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await read_updates(call, 1)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
