"""The block engine through Jito's official Python client: bundles land atomically, in order, at
the top of the next block; statuses; tips; Jito's refusals."""

from __future__ import annotations

import base58
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from localnet.jito import TIP_ACCOUNTS, bundle_id

from .conftest import SOL, Jito, encode, signed, transfer_ix

MAINNET_TIP_ACCOUNTS = [
    "96gYZGLnJYVFmbjzopPSU6QiEV5fGqZNyN9nmNhvrZU5",
    "HFqU5x63VTqvQss8hp11i4wVV8bD44PvwucfZ2bU7gRe",
    "Cw8CFyM9FkoMi7K7Crf6HNQqf4uEMzpKw6QNghXLvLkY",
    "ADaUMid9yfUytqMBgopwjb2DTLSokTSzL1zt6iGPaS49",
    "DfXygSm4jCyNCybVYYK6DwvWqjKee8pbDmJGcLWNDXjh",
    "ADuUkR4vqLUMWXxW9gh6D6L8pMSawimctcNZ5pGwDcEt",
    "DttWaMuVvTiduZRnguLF7jNxTgiMBZ1hyAumKUiL2KRL",
    "3AVi9Tg9Uo68tJfuvoKvqKNWKkC5wPdSSdeBnizKZ6jT",
]
NO_TIP = "Bundles must write lock at least one tip account to be eligible for the auction."


async def test_tip_accounts_are_jitos_mainnet_accounts(jito: Jito) -> None:
    reply = await jito.call("get_tip_accounts")
    assert reply["success"]
    assert reply["data"]["result"] == MAINNET_TIP_ACCOUNTS
    assert await jito.call("get_random_tip_account") in MAINNET_TIP_ACCOUNTS


async def test_a_bundle_lands_in_order_at_the_top_of_the_next_block(jito: Jito) -> None:
    cluster = jito.net.cluster
    payer, other = jito.funded(), jito.funded()
    fresh = Keypair()  # funded by the first transaction, spends in the second: order matters
    blockhash = cluster.latest_blockhash()
    # an ordinary transaction with a high priority fee, sent before the bundle
    ordinary = signed(
        other,
        [transfer_ix(other.pubkey(), Pubkey.new_unique(), SOL // 10)],
        blockhash,
        price=1_000_000,
    )
    ordinary_sig = await jito.rpc(
        "sendTransaction", encode(ordinary), {"encoding": "base64", "skipPreflight": True}
    )
    first = signed(payer, [transfer_ix(payer.pubkey(), fresh.pubkey(), SOL // 2)], blockhash)
    second = signed(fresh, [transfer_ix(fresh.pubkey(), Pubkey.new_unique(), SOL // 10)], blockhash)
    third = signed(payer, [transfer_ix(payer.pubkey(), TIP_ACCOUNTS[3], 10_000)], blockhash)
    bundle = [first, second, third]
    reply = await jito.send_bundle(bundle)
    assert reply["success"], reply
    identifier = reply["data"]["result"]
    assert identifier == bundle_id(bundle)
    assert len(identifier) == 64
    inflight = (await jito.call("get_inflight_bundle_statuses", [identifier]))["data"]["result"]
    assert inflight["value"] == [
        {"bundle_id": identifier, "status": "Pending", "landed_slot": None}
    ]
    assert (await jito.call("get_bundle_statuses", [identifier]))["data"]["result"]["value"] == [
        None
    ]
    tip_before = cluster.get_balance(TIP_ACCOUNTS[3])
    cluster.advance_slots(1)
    slot = cluster.slot
    inflight = (await jito.call("get_inflight_bundle_statuses", identifier))["data"]["result"]
    assert inflight == {
        "context": {"slot": slot},
        "value": [{"bundle_id": identifier, "status": "Landed", "landed_slot": slot}],
    }
    statuses = (await jito.call("get_bundle_statuses", [identifier]))["data"]["result"]
    assert statuses["value"] == [
        {
            "bundle_id": identifier,
            "transactions": [str(tx.signatures[0]) for tx in bundle],
            "slot": slot,
            "confirmation_status": "processed",
            "err": {"Ok": None},
        }
    ]
    assert cluster.get_balance(TIP_ACCOUNTS[3]) - tip_before == 10_000
    cluster.advance_slots(1)
    block = await jito.rpc(
        "getBlock", slot, {"commitment": "confirmed", "transactionDetails": "signatures"}
    )
    # the bundle at the top, in its order, before the block's ordinary transactions
    assert block["signatures"] == [*(str(tx.signatures[0]) for tx in bundle), ordinary_sig]
    confirmed = (await jito.call("get_bundle_statuses", [identifier]))["data"]["result"]
    assert confirmed["value"][0]["confirmation_status"] == "confirmed"


async def test_a_bundle_with_one_failing_transaction_lands_nothing(jito: Jito) -> None:
    cluster = jito.net.cluster
    payer = jito.funded(SOL)
    to = Pubkey.new_unique()
    blockhash = cluster.latest_blockhash()
    pays = signed(
        payer,
        [
            transfer_ix(payer.pubkey(), to, SOL // 4),
            transfer_ix(payer.pubkey(), TIP_ACCOUNTS[0], 5_000),
        ],
        blockhash,
    )
    overspends = signed(
        payer, [transfer_ix(payer.pubkey(), Pubkey.new_unique(), 5 * SOL)], blockhash
    )
    reply = await jito.send_bundle([pays, overspends])
    assert reply["success"], reply
    identifier = reply["data"]["result"]
    balance, tip_balance = cluster.get_balance(payer.pubkey()), cluster.get_balance(TIP_ACCOUNTS[0])
    cluster.advance_slots(1)
    inflight = (await jito.call("get_inflight_bundle_statuses", [identifier]))["data"]["result"]
    assert inflight["value"][0]["status"] == "Failed"
    assert inflight["value"][0]["landed_slot"] is None
    assert (await jito.call("get_bundle_statuses", [identifier]))["data"]["result"]["value"] == [
        None
    ]
    # nothing landed: no transfer, no tip, no fee, no signature status
    assert cluster.get_balance(to) == 0
    assert cluster.get_balance(payer.pubkey()) == balance
    assert cluster.get_balance(TIP_ACCOUNTS[0]) == tip_balance
    statuses = await jito.rpc(
        "getSignatureStatuses", [str(pays.signatures[0]), str(overspends.signatures[0])]
    )
    assert statuses["value"] == [None, None]
    # and it left no trace: the good transaction alone still lands afterwards
    await jito.rpc("sendTransaction", encode(pays), {"encoding": "base64"})
    cluster.advance_slots(1)
    assert cluster.get_balance(to) == SOL // 4


async def test_a_bundle_without_a_tip_is_refused(jito: Jito) -> None:
    payer = jito.funded()
    tx = signed(
        payer,
        [transfer_ix(payer.pubkey(), Pubkey.new_unique(), SOL // 10)],
        jito.net.cluster.latest_blockhash(),
    )
    reply = await jito.send_bundle([tx])
    assert reply["success"] is False
    assert reply["error"].startswith("HTTP Error: 400 Client Error")
    status, body, _ = await jito.raw(
        "bundles", "sendBundle", [[encode(tx)], {"encoding": "base64"}]
    )
    assert status == 400
    assert body == {
        "jsonrpc": "2.0",
        "error": {"code": -32602, "message": NO_TIP, "data": None},
        "id": 1,
    }
    jito.net.cluster.advance_slots(1)
    assert jito.net.cluster.get_balance(payer.pubkey()) == 2 * SOL  # never executed


async def test_a_tip_below_the_floor_fails_and_the_floor_can_be_set(jito: Jito) -> None:
    cluster = jito.net.cluster
    payer = jito.funded()
    blockhash = cluster.latest_blockhash()

    def tipping(lamports: int) -> list[object]:
        ixs = [
            transfer_ix(payer.pubkey(), Pubkey.new_unique(), SOL // 100 + lamports),
            transfer_ix(payer.pubkey(), TIP_ACCOUNTS[5], lamports),
        ]
        return [signed(payer, ixs, blockhash)]

    low = tipping(600)
    reply = await jito.send_bundle(low)  # accepted: the tip is measured when it executes
    assert reply["success"], reply
    cluster.advance_slots(1)
    inflight = await jito.call("get_inflight_bundle_statuses", [reply["data"]["result"]])
    assert inflight["data"]["result"]["value"][0]["status"] == "Failed"
    async with jito.http.get(f"{jito.control}/jito/tip_floor") as response:
        assert await response.json() == {"lamports": 1_000}
    async with jito.http.put(f"{jito.control}/jito/tip_floor", json={"lamports": 500}) as response:
        assert await response.json() == {"lamports": 500}
    async with jito.http.put(f"{jito.control}/jito/tip_floor", json={"lamports": -1}) as response:
        assert response.status == 400
    reply = await jito.send_bundle(low)  # the same bundle again, now above the floor
    assert reply["success"], reply
    cluster.advance_slots(1)
    inflight = await jito.call("get_inflight_bundle_statuses", [reply["data"]["result"]])
    assert inflight["data"]["result"]["value"][0]["status"] == "Landed"


async def test_jitos_refusals(jito: Jito) -> None:
    cluster = jito.net.cluster
    payer = jito.funded()
    blockhash = cluster.latest_blockhash()
    txs = [
        signed(payer, [transfer_ix(payer.pubkey(), TIP_ACCOUNTS[1], 1_000 + i)], blockhash)
        for i in range(6)
    ]
    encoded = [encode(tx) for tx in txs]

    async def refusal(params: list[object]) -> tuple[int, str]:
        status, body, _ = await jito.raw("bundles", "sendBundle", params)
        assert body["error"]["data"] is None
        return status, body["error"]["message"]

    too_many = await refusal([encoded, {"encoding": "base64"}])
    assert too_many == (400, "exceeded maximum number of transactions: 6 > 5")
    assert (await refusal([[], {"encoding": "base64"}]))[0] == 400
    garbage = await refusal([["not base64!"], {"encoding": "base64"}])
    assert garbage[1].startswith("transaction #0 could not be decoded")
    unsigned = signed(payer, [transfer_ix(payer.pubkey(), TIP_ACCOUNTS[1], 1_000)], blockhash)
    forged = bytearray(bytes(unsigned))
    forged[1:65] = bytes(64)
    assert await refusal([[base58.b58encode(bytes(forged)).decode()]]) == (
        400,
        f"transaction {'1' * 64} is invalid",
    )
    assert (await refusal([[encoded[0], encoded[0]], {"encoding": "base64"}]))[1] == (
        "bundle contains duplicate transactions"
    )
    landed = await jito.send_bundle(txs[:1])
    assert landed["success"]
    cluster.advance_slots(1)
    assert await refusal([encoded[:2], {"encoding": "base64"}]) == (
        400,
        "bundle contains an already processed transaction",
    )
    status, body, _ = await jito.raw("bundles", "sendTransaction", [encoded[1]])
    assert (status, body["error"]["code"]) == (400, -32601)
    status, body, _ = await jito.raw("bundles", "getBundleStatuses", [["a"] * 6])
    assert status == 400


async def test_a_base58_bundle_lands_too(jito: Jito) -> None:
    payer = jito.funded()
    tx = signed(
        payer,
        [transfer_ix(payer.pubkey(), TIP_ACCOUNTS[7], 2_000)],
        jito.net.cluster.latest_blockhash(),
    )
    status, body, _ = await jito.raw(
        "bundles", "sendBundle", [[base58.b58encode(bytes(tx)).decode()]]
    )
    assert status == 200
    jito.net.cluster.advance_slots(1)
    _, inflight, _ = await jito.raw("bundles", "getInflightBundleStatuses", [[body["result"]]])
    assert inflight["result"]["value"][0]["status"] == "Landed"


async def test_an_expired_bundle_is_accepted_then_invalid(jito: Jito) -> None:
    cluster = jito.net.cluster
    payer = jito.funded()
    old = cluster.latest_blockhash()
    cluster.advance_slots(151)
    tx = signed(payer, [transfer_ix(payer.pubkey(), TIP_ACCOUNTS[2], 5_000)], old)
    reply = await jito.send_bundle([tx])
    assert reply["success"], reply
    cluster.advance_slots(1)
    inflight = await jito.call("get_inflight_bundle_statuses", [reply["data"]["result"]])
    assert inflight["data"]["result"]["value"][0]["status"] == "Invalid"
    unknown = await jito.call("get_inflight_bundle_statuses", ["ab" * 32])
    assert unknown["data"]["result"]["value"] == [
        {"bundle_id": "ab" * 32, "status": "Invalid", "landed_slot": None}
    ]


async def test_send_transaction_plain_and_bundle_only(jito: Jito) -> None:
    cluster = jito.net.cluster
    payer = jito.funded()
    blockhash = cluster.latest_blockhash()
    plain = signed(payer, [transfer_ix(payer.pubkey(), Pubkey.new_unique(), SOL // 10)], blockhash)
    reply = await jito.call("send_txn", encode(plain))
    assert reply["data"]["result"] == str(plain.signatures[0])
    tipped = signed(payer, [transfer_ix(payer.pubkey(), TIP_ACCOUNTS[4], 3_000)], blockhash)
    reply = await jito.call("send_txn", encode(tipped), bundleOnly=True)
    assert reply["data"]["result"] == str(tipped.signatures[0])
    untipped = signed(
        payer, [transfer_ix(payer.pubkey(), Pubkey.new_unique(), SOL // 5)], blockhash
    )
    async with jito.http.post(
        f"{jito.url}/api/v1/transactions?bundleOnly=true",
        json={
            "jsonrpc": "2.0",
            "id": 3,
            "method": "sendTransaction",
            "params": [encode(untipped), {"encoding": "base64"}],
        },
    ) as response:
        assert response.status == 400
        assert (await response.json())["error"]["message"] == NO_TIP
    cluster.advance_slots(1)
    statuses = await jito.rpc(
        "getSignatureStatuses",
        [str(plain.signatures[0]), str(tipped.signatures[0]), str(untipped.signatures[0])],
    )
    assert [s is not None and s["err"] is None for s in statuses["value"]] == [True, True, False]
    inflight = await jito.call("get_inflight_bundle_statuses", [bundle_id([tipped])])
    assert inflight["data"]["result"]["value"][0]["status"] == "Landed"
