"""Create tokens of every kind with real SPL Token / Token-2022 instructions executed in LiteSVM.

Token-2022 extensions are initialised by their own instructions before `InitializeMint2`, exactly
as on mainnet. Metaplex metadata is written as account data (that program cannot run here).
Every balance is real SVM state: the pool, the creator and the holders get their tokens by MintTo.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import structlog
from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from solders.token.state import TokenAccount, TokenAccountState

from localnet.market import instructions as ix
from localnet.market.keys import derive_keypair
from localnet.market.market import Market, Pool
from localnet.market.ports import ClusterPort, OutcomeLike
from localnet.market.pricing import TransferFee
from localnet.tokens.kinds import KINDS, RUG_ACTIONS, KindSpec
from localnet.tokens.metadata import Metadata, encode_metadata, metadata_address

log = structlog.get_logger(__name__)

DECIMALS = 6
SUPPLY = 1_000_000_000 * 10**DECIMALS  # pump.fun's 1e9 tokens x 1e6
_U64_MAX = 2**64 - 1
LAMPORTS_PER_SOL = 1_000_000_000


@dataclass(frozen=True, slots=True)
class TokenInfo:
    mint: Pubkey
    pool: Pubkey
    creator: Pubkey
    kind: str
    token_program: Pubkey


@dataclass(frozen=True, slots=True)
class Token:
    info: TokenInfo
    spec: KindSpec
    creator: Keypair
    pool: Pool
    holders: tuple[Pubkey, ...]
    name: str
    symbol: str
    created_slot: int


class TokenError(ValueError):
    """A token request that cannot be honoured; the message says which parameter to fix."""


def _spec_for(kind: str, params: dict[str, Any]) -> KindSpec:
    if kind not in KINDS:
        raise TokenError(f"unknown token kind {kind!r}; choose one of {', '.join(sorted(KINDS))}")
    spec = KINDS[kind]
    changes: dict[str, Any] = {}
    for name in ("fee_bps", "creator_share", "liquidity_sol", "rug_after_slots", "holders"):
        if params.get(name) is not None:
            changes[name] = params[name]
    if params.get("token_program") is not None:
        if params["token_program"] not in ("spl-token", "token-2022"):
            raise TokenError("token_program must be 'spl-token' or 'token-2022'")
        changes["program"] = params["token_program"]
    spec = replace(spec, **changes)
    needs_2022 = (
        spec.fee_bps
        or spec.permanent_delegate
        or spec.non_transferable
        or spec.default_frozen
        or spec.transfer_hook
        or spec.pausable
    )
    if needs_2022 and spec.program != "token-2022":
        raise TokenError(f"kind {kind!r} needs token_program 'token-2022'")
    if not 0 <= spec.fee_bps <= 10_000:
        raise TokenError("fee_bps must be between 0 and 10000")
    if not 0 <= spec.creator_share + spec.holders_share < 1:
        raise TokenError("creator_share must leave part of the supply for the pool")
    if spec.liquidity_sol <= 0:
        raise TokenError("liquidity_sol must be positive")
    return spec


@dataclass
class TokenFactory:
    cluster: ClusterPort
    market: Market
    tokens: dict[Pubkey, Token] = field(default_factory=dict)
    _count: int = 0

    def create(self, kind: str, **params: Any) -> TokenInfo:
        spec = _spec_for(kind, params)
        n = self._count
        self._count += 1
        seed = self.market.seed
        creator = derive_keypair(seed, f"creator:{n}")
        mint_kp = derive_keypair(seed, f"mint:{n}")
        mint = mint_kp.pubkey()
        program = ix.TOKEN_2022_PROGRAM_ID if spec.program == "token-2022" else ix.TOKEN_PROGRAM_ID
        self.cluster.airdrop(creator.pubkey(), 10 * LAMPORTS_PER_SOL)
        self._create_mint(spec, mint_kp, creator, program)
        name = str(params.get("name") or f"{kind.replace('_', ' ').title()} {n}")
        symbol = str(params.get("symbol") or f"{kind[:4].upper()}{n}")[:10]
        self._write_metadata(mint, creator.pubkey(), name, symbol, spec.mutable_metadata)
        hook_accounts: tuple[Pubkey, ...] = ()
        if spec.transfer_hook:
            hook = self._hook_program(n)
            pda = Pubkey.find_program_address([b"extra-account-metas", bytes(mint)], hook)[0]
            hook_accounts = (pda, hook)
        pool = self.market.open_pool(
            mint=mint,
            token_program=program,
            decimals=DECIMALS,
            sol_lamports=int(Decimal(str(spec.liquidity_sol)) * LAMPORTS_PER_SOL),
            transfer_fee=TransferFee(spec.fee_bps, _U64_MAX),
            hook_accounts=hook_accounts,
        )
        holders = tuple(
            derive_keypair(seed, f"holder:{n}:{i}").pubkey() for i in range(spec.holders)
        )
        self._distribute(spec, mint, program, creator, pool, holders)
        if not spec.keep_mint_authority:
            revoke = ix.set_authority(
                program, mint, creator.pubkey(), ix.AUTHORITY_MINT_TOKENS, None
            )
            self.market.send([revoke], [creator])
        info = TokenInfo(mint, pool.key, creator.pubkey(), kind, program)
        self.tokens[mint] = Token(
            info, spec, creator, pool, holders, name, symbol, self.cluster.slot
        )
        log.info("tokens.created", kind=kind, mint=str(mint), pool=str(pool.key))
        return info

    def _hook_program(self, n: int) -> Pubkey:
        return derive_keypair(self.market.seed, f"hook:{n}").pubkey()

    def _create_mint(
        self, spec: KindSpec, mint: Keypair, creator: Keypair, program: Pubkey
    ) -> None:
        key, auth = mint.pubkey(), creator.pubkey()
        exts: list[tuple[int, int]] = []
        inits: list[Instruction] = []
        if spec.fee_bps:
            exts.append(ix.EXT_TRANSFER_FEE_CONFIG)
            inits.append(ix.initialize_transfer_fee_config(key, auth, spec.fee_bps, _U64_MAX))
        if spec.permanent_delegate:
            exts.append(ix.EXT_PERMANENT_DELEGATE)
            inits.append(ix.initialize_permanent_delegate(key, auth))
        if spec.non_transferable:
            exts.append(ix.EXT_NON_TRANSFERABLE)
            inits.append(ix.initialize_non_transferable_mint(key))
        if spec.default_frozen:
            exts.append(ix.EXT_DEFAULT_ACCOUNT_STATE)
            inits.append(ix.initialize_default_account_state(key, ix.ACCOUNT_STATE_FROZEN))
        if spec.transfer_hook:
            exts.append(ix.EXT_TRANSFER_HOOK)
            inits.append(
                ix.initialize_transfer_hook(key, auth, self._hook_program(self._count - 1))
            )
        if spec.pausable:
            exts.append(ix.EXT_PAUSABLE)
            inits.append(ix.initialize_pausable(key, auth))
        size = ix.mint_len(exts)
        rent = self.cluster.svm.minimum_balance_for_rent_exemption(size)
        freeze = auth if spec.keep_freeze_authority else None
        self.market.send(
            [
                create_account(
                    CreateAccountParams(
                        from_pubkey=auth, to_pubkey=key, lamports=rent, space=size, owner=program
                    )
                ),
                *inits,
                ix.initialize_mint2(program, key, DECIMALS, auth, freeze),
            ],
            [creator, mint],
        )

    def _write_metadata(
        self, mint: Pubkey, creator: Pubkey, name: str, symbol: str, mutable: bool
    ) -> None:
        data = encode_metadata(
            Metadata(creator, mint, name, symbol, f"https://localnet.invalid/{mint}.json", mutable)
        )
        rent = self.cluster.svm.minimum_balance_for_rent_exemption(len(data))
        self.cluster.set_account(
            metadata_address(mint), Account(rent, data, ix.METADATA_PROGRAM_ID, False, 0)
        )

    def _distribute(
        self,
        spec: KindSpec,
        mint: Pubkey,
        program: Pubkey,
        creator: Keypair,
        pool: Pool,
        holders: tuple[Pubkey, ...],
    ) -> None:
        auth = creator.pubkey()
        creator_amount = int(SUPPLY * Decimal(str(spec.creator_share)))
        holder_amount = int(SUPPLY * Decimal(str(spec.holders_share))) // max(1, len(holders))
        pool_amount = SUPPLY - creator_amount - holder_amount * len(holders)
        grants = [(pool.key, pool_amount), (auth, creator_amount)]
        grants += [(h, holder_amount) for h in holders]
        for i in range(0, len(grants), 4):
            batch: list[Instruction] = []
            for owner, amount in grants[i : i + 4]:
                ata = ix.associated_token_address(owner, mint, program)
                if owner != pool.key:
                    batch.append(
                        ix.create_associated_token_account_idempotent(auth, owner, mint, program)
                    )
                if spec.default_frozen:
                    batch.append(ix.freeze_account(program, ata, mint, auth, thaw=True))
                if amount:
                    batch.append(ix.mint_to(program, mint, ata, auth, amount))
            self.market.send(batch, [creator])

    # ---- what creators do later --------------------------------------------------------------
    def get(self, mint: Pubkey) -> Token:
        token = self.tokens.get(mint)
        if token is None:
            raise TokenError(f"unknown mint {mint}; create it with POST /tokens first")
        return token

    def rug(self, mint: Pubkey) -> list[OutcomeLike]:
        """The kind's malicious move: freeze buyers, mint and dump, drain holders, pause, or pull
        the liquidity."""
        token = self.get(mint)
        action = RUG_ACTIONS.get(token.info.kind, "pull_liquidity")
        if action == "freeze_buyers":
            return self.freeze_buyers(mint)
        if action == "mint_and_dump":
            return self.mint_and_dump(mint)
        if action == "drain_holders":
            return self.drain_holders(mint)
        if action == "pause":
            return [self.pause(mint)]
        return [self.market.drain(token.pool, token.creator.pubkey())]

    def retire(self, mint: Pubkey) -> int:
        """Forget a token and close its accounts so a long run stays bounded: every token account
        of the mint (buyers' too), the mint, its metadata, the pool and the creator's wallet.
        Returns how many accounts were closed."""
        token = self.get(mint)
        del self.tokens[mint]
        self.market.close_pool(mint)
        addresses = [address for address, _ in self.cluster.token_accounts_by_mint(mint)]
        addresses += [token.pool.key, metadata_address(mint), mint, token.creator.pubkey()]
        closed = sum(self.cluster.close_account(address) for address in addresses)
        log.info("tokens.retired", kind=token.info.kind, mint=str(mint), accounts=closed)
        return closed

    def _holder_accounts(self, token: Token) -> list[tuple[Pubkey, TokenAccount]]:
        found = []
        for owner in self.market.buyers(token.info.mint):
            ata = ix.associated_token_address(owner, token.info.mint, token.info.token_program)
            acc = self.cluster.get_account(ata)
            if acc is not None:
                found.append((ata, TokenAccount.from_bytes(bytes(acc.data[:165]))))
        return found

    def freeze_buyers(self, mint: Pubkey) -> list[OutcomeLike]:
        """Freeze every buyer's token account that is not frozen yet (needs a live freeze
        authority; afterwards their sells fail with custom 17, AccountFrozen)."""
        token = self.get(mint)
        program, auth = token.info.token_program, token.creator.pubkey()
        out = []
        for ata, state in self._holder_accounts(token):
            if state.state == TokenAccountState.Initialized:
                freeze = ix.freeze_account(program, ata, mint, auth)
                out.append(self.market.send([freeze], [token.creator]))
        return out

    def mint_and_dump(self, mint: Pubkey) -> list[OutcomeLike]:
        """Mint 10x the pool's tokens to the creator and sell them into the pool."""
        token = self.get(mint)
        _, pool_tokens = self.market.reserves(token.pool)
        amount = pool_tokens * 10
        ata = ix.associated_token_address(token.creator.pubkey(), mint, token.info.token_program)
        minted = self.market.send(
            [ix.mint_to(token.info.token_program, mint, ata, token.creator.pubkey(), amount)],
            [token.creator],
        )
        return [minted, self.market.trade(mint, token.creator, "sell", amount)]

    def drain_holders(self, mint: Pubkey) -> list[OutcomeLike]:
        """The permanent delegate moves every buyer's balance to the creator."""
        token = self.get(mint)
        program, auth = token.info.token_program, token.creator.pubkey()
        dest = ix.associated_token_address(auth, mint, program)
        out = []
        for ata, state in self._holder_accounts(token):
            if state.amount:
                move = ix.transfer_checked(program, ata, mint, dest, auth, state.amount, DECIMALS)
                out.append(self.market.send([move], [token.creator]))
        return out

    def pause(self, mint: Pubkey) -> OutcomeLike:
        token = self.get(mint)
        return self.market.send([ix.pause(mint, token.creator.pubkey())], [token.creator])
