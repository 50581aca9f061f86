"""Withdrawals: preview arithmetic, and signed transactions executed in a real Solana runtime."""

from __future__ import annotations

import pytest
import spl.token.instructions as T
import spl.token.models as M
from hypothesis import given
from hypothesis import strategies as st
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from solders.token.state import TokenAccount
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from sniper_bot.solana.pda import associated_token_address
from sniper_bot.solana.programs import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from sniper_bot.solana.rent import BASE_FEE_LAMPORTS, RENT_EXEMPT_MINIMUM_LAMPORTS
from sniper_bot.wallet.keys import AddressError
from sniper_bot.wallet.sessions import UnlockedWallet
from sniper_bot.wallet.withdraw import (
    TokenInfo,
    WithdrawalError,
    preview_sol,
    preview_token,
    sign_withdrawal,
    token_account_rent,
)

SOL = 1_000_000_000


def _unlocked(kp: Keypair) -> UnlockedWallet:
    return UnlockedWallet(1, 1, kp.pubkey(), kp)


def _send(svm: LiteSVM, payer: Keypair, ixs: list[Instruction], signers: list[Keypair]) -> None:
    msg = MessageV0.try_compile(payer.pubkey(), ixs, [], svm.latest_blockhash())
    result = svm.send_transaction(VersionedTransaction(msg, signers))
    assert not isinstance(result, FailedTransactionMetadata), result


def _mint(svm: LiteSVM, payer: Keypair, program: Pubkey, holder: Pubkey, amount: int) -> TokenInfo:
    mint = Keypair()
    _send(
        svm,
        payer,
        [
            create_account(
                CreateAccountParams(
                    from_pubkey=payer.pubkey(),
                    to_pubkey=mint.pubkey(),
                    lamports=svm.minimum_balance_for_rent_exemption(82),
                    space=82,
                    owner=program,
                )
            ),
            T.initialize_mint2(
                M.InitializeMint2Params(
                    decimals=6,
                    program_id=program,
                    mint=mint.pubkey(),
                    mint_authority=payer.pubkey(),
                )
            ),
            T.create_idempotent_associated_token_account(
                payer.pubkey(), holder, mint.pubkey(), token_program_id=program
            ),
            T.mint_to(
                M.MintToParams(
                    program_id=program,
                    mint=mint.pubkey(),
                    dest=T.get_associated_token_address(holder, mint.pubkey(), program),
                    mint_authority=payer.pubkey(),
                    amount=amount,
                )
            ),
        ],
        [payer, mint],
    )
    return TokenInfo(mint.pubkey(), program, 6, "TEST")


def _token_balance(svm: LiteSVM, owner: Pubkey, token: TokenInfo) -> int:
    account = svm.get_account(associated_token_address(owner, token.mint, token.token_program))
    assert account is not None
    return TokenAccount.from_bytes(bytes(account.data)[:165]).amount


def test_sol_withdrawal_lands_with_exactly_the_previewed_cost() -> None:
    svm = LiteSVM()
    wallet, dest = Keypair(), Keypair()
    svm.airdrop(wallet.pubkey(), 2 * SOL)
    preview = preview_sol(
        wallet.pubkey(),
        str(dest.pubkey()),
        SOL // 2,
        balance_lamports=2 * SOL,
        priority_fee_lamports=10_000,
    )
    assert preview.fee_lamports == BASE_FEE_LAMPORTS + 10_000
    signed = sign_withdrawal(_unlocked(wallet), preview, svm.latest_blockhash(), 1_000)
    assert signed.transaction.verify_with_results() == [True]
    result = svm.send_transaction(signed.transaction)
    assert not isinstance(result, FailedTransactionMetadata), result
    assert svm.get_balance(dest.pubkey()) == SOL // 2
    assert svm.get_balance(wallet.pubkey()) == 2 * SOL - preview.total_sol_cost
    assert signed.signature == signed.transaction.signatures[0]


def test_withdraw_all_sol_empties_the_wallet() -> None:
    svm = LiteSVM()
    wallet, dest = Keypair(), Keypair()
    svm.airdrop(wallet.pubkey(), SOL)
    preview = preview_sol(wallet.pubkey(), str(dest.pubkey()), None, balance_lamports=SOL)
    svm_result = svm.send_transaction(
        sign_withdrawal(_unlocked(wallet), preview, svm.latest_blockhash(), 1).transaction
    )
    assert not isinstance(svm_result, FailedTransactionMetadata), svm_result
    assert svm.get_balance(wallet.pubkey()) in (0, None)
    assert svm.get_balance(dest.pubkey()) == SOL - BASE_FEE_LAMPORTS


@pytest.mark.parametrize(
    "program", [TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID], ids=["token", "token2022"]
)
def test_token_withdrawal_creates_the_recipient_account_with_the_mints_program(
    program: Pubkey,
) -> None:
    svm = LiteSVM()
    wallet, dest = Keypair(), Keypair()
    svm.airdrop(wallet.pubkey(), SOL)
    token = _mint(svm, wallet, program, wallet.pubkey(), 5_000_000)
    sol_before = svm.get_balance(wallet.pubkey())
    assert sol_before is not None
    preview = preview_token(
        wallet.pubkey(),
        str(dest.pubkey()),
        token,
        1_250_000,
        token_balance=5_000_000,
        sol_balance_lamports=sol_before,
        destination_account_exists=False,
        priority_fee_lamports=1_000,
    )
    assert preview.rent_lamports == token_account_rent(token)
    signed = sign_withdrawal(_unlocked(wallet), preview, svm.latest_blockhash(), 1)
    result = svm.send_transaction(signed.transaction)
    assert not isinstance(result, FailedTransactionMetadata), result
    assert _token_balance(svm, dest.pubkey(), token) == 1_250_000
    assert _token_balance(svm, wallet.pubkey(), token) == 3_750_000
    dest_ata = svm.get_account(associated_token_address(dest.pubkey(), token.mint, program))
    assert dest_ata is not None
    assert dest_ata.owner == program
    spent = sol_before - (svm.get_balance(wallet.pubkey()) or 0)
    assert spent == preview.fee_lamports + dest_ata.lamports
    assert dest_ata.lamports == preview.rent_lamports


def test_token_withdrawal_to_an_existing_account_succeeds_again() -> None:
    svm = LiteSVM()
    wallet, dest = Keypair(), Keypair()
    svm.airdrop(wallet.pubkey(), SOL)
    token = _mint(svm, wallet, TOKEN_PROGRAM_ID, wallet.pubkey(), 100)
    for amount in (10, 20):
        preview = preview_token(
            wallet.pubkey(),
            str(dest.pubkey()),
            token,
            amount,
            token_balance=100,
            sol_balance_lamports=SOL // 2,
            destination_account_exists=amount == 20,
        )
        signed = sign_withdrawal(_unlocked(wallet), preview, svm.latest_blockhash(), 1)
        result = svm.send_transaction(signed.transaction)
        assert not isinstance(result, FailedTransactionMetadata), result
    assert _token_balance(svm, dest.pubkey(), token) == 30


def test_ata_derivation_differs_per_token_program() -> None:
    owner, mint = Keypair().pubkey(), Keypair().pubkey()
    classic = associated_token_address(owner, mint, TOKEN_PROGRAM_ID)
    t22 = associated_token_address(owner, mint, TOKEN_2022_PROGRAM_ID)
    assert classic != t22
    assert classic == T.get_associated_token_address(owner, mint, TOKEN_PROGRAM_ID)
    assert t22 == T.get_associated_token_address(owner, mint, TOKEN_2022_PROGRAM_ID)


def test_signing_refuses_a_preview_of_another_wallet() -> None:
    a, b, dest = Keypair(), Keypair(), Keypair()
    preview = preview_sol(a.pubkey(), str(dest.pubkey()), 1_000_000, balance_lamports=SOL)
    with pytest.raises(WithdrawalError, match="another wallet"):
        sign_withdrawal(_unlocked(b), preview, LiteSVM().latest_blockhash(), 1)


def test_refusals_say_what_to_do() -> None:
    me, dest = Keypair().pubkey(), str(Keypair().pubkey())
    with pytest.raises(WithdrawalError, match="own address"):
        preview_sol(me, str(me), 1, balance_lamports=SOL)
    with pytest.raises(WithdrawalError, match="Not enough SOL"):
        preview_sol(me, dest, SOL, balance_lamports=SOL)
    with pytest.raises(WithdrawalError, match="withdraw everything"):
        preview_sol(me, dest, SOL - BASE_FEE_LAMPORTS - 10, balance_lamports=SOL)
    with pytest.raises(WithdrawalError, match="does not cover"):
        preview_sol(me, dest, None, balance_lamports=BASE_FEE_LAMPORTS)
    with pytest.raises(AddressError):
        preview_sol(me, "nope", 1, balance_lamports=SOL)
    token = TokenInfo(Keypair().pubkey(), TOKEN_PROGRAM_ID, 6)
    with pytest.raises(WithdrawalError, match="mint address"):
        preview_token(
            me,
            str(token.mint),
            token,
            1,
            token_balance=1,
            sol_balance_lamports=SOL,
            destination_account_exists=False,
        )
    with pytest.raises(WithdrawalError, match="Not enough tokens"):
        preview_token(
            me,
            dest,
            token,
            2,
            token_balance=1,
            sol_balance_lamports=SOL,
            destination_account_exists=True,
        )
    with pytest.raises(WithdrawalError, match="recipient token account"):
        preview_token(
            me,
            dest,
            token,
            1,
            token_balance=1,
            sol_balance_lamports=10_000,
            destination_account_exists=False,
        )
    with pytest.raises(WithdrawalError, match="not owned by a token program"):
        TokenInfo(Keypair().pubkey(), Keypair().pubkey(), 6)


@given(
    balance=st.integers(0, 10**12),
    amount=st.one_of(st.none(), st.integers(-5, 10**12)),
    priority=st.integers(0, 10_000_000),
)
def test_an_accepted_sol_preview_never_overdraws_or_strands_dust(
    balance: int, amount: int | None, priority: int
) -> None:
    me, dest = Keypair.from_seed(bytes(32)).pubkey(), Keypair.from_seed(bytes([1] * 32)).pubkey()
    try:
        preview = preview_sol(
            me, str(dest), amount, balance_lamports=balance, priority_fee_lamports=priority
        )
    except WithdrawalError:
        return
    left = balance - preview.total_sol_cost
    assert preview.amount > 0
    assert preview.fee_lamports <= BASE_FEE_LAMPORTS + priority
    assert left == 0 or left >= RENT_EXEMPT_MINIMUM_LAMPORTS
    assert "SOL" in preview.lines()[0]
