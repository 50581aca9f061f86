"""The official SDK reads localnet's pump.fun accounts: PDAs, Global, FeeConfig, BondingCurve, and
(over real RPC) its own fetchers."""

from __future__ import annotations

from solders.pubkey import Pubkey

from localnet import pump
from localnet.cluster import Cluster
from localnet.pump import state
from localnet.testing import running_localnet

from .helpers import account_b64, create_v2, funded
from .oracle import Oracle


def _cluster() -> Cluster:
    cluster = Cluster(seed=3, slot_ms=None)
    pump.install(cluster)
    return cluster


def test_sdk_pdas_are_localnet_pdas(oracle: Oracle) -> None:
    mint, user = Pubkey.new_unique(), Pubkey.new_unique()
    pdas = oracle({"op": "pdas", "mint": str(mint), "user": str(user), "creator": str(user)})
    assert pdas["global"] == str(state.GLOBAL)
    assert pdas["feeConfig"] == str(state.FEE_CONFIG)
    assert pdas["globalVolumeAccumulator"] == str(state.GLOBAL_VOLUME_ACCUMULATOR)
    assert pdas["eventAuthority"] == str(state.EVENT_AUTHORITY)
    assert pdas["bondingCurve"] == str(state.bonding_curve_address(mint))
    assert pdas["bondingCurveV2"] == str(state.bonding_curve_v2_address(mint))
    assert pdas["sharingConfig"] == str(state.sharing_config_address(mint))
    assert pdas["creatorVault"] == str(state.creator_vault_address(user))
    assert pdas["userVolumeAccumulator"] == str(state.user_volume_accumulator_address(user))


def test_sdk_decodes_global_fee_config_and_a_new_curve(oracle: Oracle) -> None:
    cluster = _cluster()
    creator = funded(cluster)
    coin = create_v2(oracle, cluster, creator)
    curve_key = state.bonding_curve_address(coin.mint.pubkey())
    decoded = oracle({
        "op": "decode",
        "global": account_b64(cluster, state.GLOBAL),
        "feeConfig": account_b64(cluster, state.FEE_CONFIG),
        "bondingCurve": account_b64(cluster, curve_key),
    })  # fmt: skip
    g = decoded["global"]
    assert g["feeRecipient"] == str(state.FEE_RECIPIENTS[0])
    assert g["feeRecipients"] == [str(k) for k in state.FEE_RECIPIENTS[1:]]
    assert g["buybackFeeRecipients"] == [str(k) for k in state.BUYBACK_FEE_RECIPIENTS]
    assert g["initialVirtualTokenReserves"] == str(state.INITIAL_VIRTUAL_TOKEN_RESERVES)
    assert g["initialVirtualSolReserves"] == str(state.INITIAL_VIRTUAL_SOL_RESERVES)
    assert g["feeBasisPoints"] == "95"
    assert g["buybackBasisPoints"] == "5000"
    assert g["createV2Enabled"] is True
    assert g["isHolderRewardEnabled"] is True
    fc = decoded["feeConfig"]
    assert [t["marketCapLamportsThreshold"] for t in fc["feeTiers"]] == [
        str(t) for t, _ in state.GENESIS_FEE_TIERS
    ]
    assert fc["feeTiers"][1]["fees"]["creatorFeeBps"] == "95"
    assert fc["exoticFlatFees"]["protocolFeeBps"] == "100"
    bc = decoded["bondingCurve"]
    assert bc == {
        "virtualTokenReserves": "1073000000000000", "virtualQuoteReserves": "30000000000",
        "realTokenReserves": "793100000000000", "realQuoteReserves": "0",
        "tokenTotalSupply": "1000000000000000", "complete": False,
        "creator": str(creator.pubkey()), "isMayhemMode": False, "isCashbackCoin": False,
        "quoteMint": str(Pubkey.default()), "creatorFeeBps": "0", "canEditCreatorFee": False,
        "isHolderReward": False,
    }  # fmt: skip
    curve = cluster.get_account(curve_key)
    assert curve is not None
    assert curve.owner == state.PUMP_PROGRAM_ID
    assert len(curve.data) > 125  # longer than the fields: readers must decode by field


def test_create_v2_makes_a_token_2022_mint_with_revoked_authority_and_full_curve_ata(
    oracle: Oracle,
) -> None:
    from localnet.encoding import TOKEN_2022_PROGRAM_ID, mint_fields
    from localnet.market.instructions import associated_token_address

    cluster = _cluster()
    coin = create_v2(oracle, cluster, funded(cluster), name="Honk")
    mint = cluster.get_account(coin.mint.pubkey())
    assert mint is not None
    assert mint.owner == TOKEN_2022_PROGRAM_ID
    supply, decimals = mint_fields(bytes(mint.data))
    assert (supply, decimals) == (state.TOKEN_TOTAL_SUPPLY, 6)
    assert bytes(mint.data[0:4]) == b"\x00\x00\x00\x00"  # mint authority: None
    data, kinds, offset = bytes(mint.data), set(), 166
    while offset + 4 <= len(data):
        kind, size = (
            int.from_bytes(data[offset : offset + 2], "little"),
            int.from_bytes(data[offset + 2 : offset + 4], "little"),
        )
        kinds.add(kind)
        offset += 4 + size
    assert kinds == {18, 19}  # MetadataPointer, TokenMetadata (name, symbol, uri in the mint)
    assert b"Honk" in data
    assert b"https://example.invalid/Honk.json" in data
    curve_ata = associated_token_address(
        state.bonding_curve_address(coin.mint.pubkey()), coin.mint.pubkey(), TOKEN_2022_PROGRAM_ID
    )
    from .helpers import token_balance

    assert token_balance(cluster, curve_ata) == state.TOKEN_TOTAL_SUPPLY


async def test_sdk_fetchers_read_localnet_over_rpc(oracle: Oracle) -> None:
    async with running_localnet(seed=5) as net:
        assert net.urls is not None
        rpc = net.urls.rpc["helius"]["http"]
        creator = funded(net.cluster)
        coin = create_v2(oracle, net.cluster, creator)
        fetched = await oracle.run({"op": "fetch", "rpc": rpc, "mint": coin.address,
                          "user": str(creator.pubkey())})  # fmt: skip
    assert fetched["global"]["feeRecipient"] == str(state.FEE_RECIPIENTS[0])
    assert len(fetched["feeConfig"]["feeTiers"]) == len(state.GENESIS_FEE_TIERS)
    assert fetched["bondingCurve"]["creator"] == str(creator.pubkey())
    assert fetched["associatedUserExists"] is False
