"""Custodial wallets: envelope encryption, PIN, signer sessions, rotation, withdrawals.

Public surface (the composition root builds these; nothing is constructed at import time):

    Keyring.from_settings(SESSION_MASTER_SECRET, SESSION_MASTER_SECRET_PREVIOUS)
    SignerCache(ttl_seconds=SIGNER_TTL_S, clock=time.monotonic)
    PinGate(users_repo, PinHasher(), LockoutPolicy(), clock=lambda: datetime.now(UTC))
    WalletService(users=..., wallets=..., keyring=..., signers=..., pins=..., metrics=...,
                  admin_ids=settings.telegram.admin_id_set)
    await rotate(wallets_repo, keyring, batch=200, progress=callback)   # sniper-bot rotate-secret
    preview_sol(...) / preview_token(...) -> WithdrawalPreview -> sign_withdrawal(...)
"""

from sniper_bot.wallet.crypto import Keyring, KeyringError, MasterSecretError, UnsealError
from sniper_bot.wallet.keys import AddressError, ExportedKey, KeyImportError
from sniper_bot.wallet.pin import (
    Argon2Params,
    LockoutPolicy,
    PinHasher,
    PinLockedError,
    PinPolicyError,
    WrongPinError,
)
from sniper_bot.wallet.pingate import PinGate, PinNotSetError
from sniper_bot.wallet.rotation import RotationReport, rotate
from sniper_bot.wallet.service import (
    DuplicateWalletError,
    NoWalletError,
    WalletLimitError,
    WalletNotFoundError,
    WalletService,
    WalletView,
)
from sniper_bot.wallet.sessions import SignerCache, UnlockedWallet
from sniper_bot.wallet.withdraw import (
    SignedWithdrawal,
    TokenInfo,
    WithdrawalError,
    WithdrawalPreview,
    preview_sol,
    preview_token,
    sign_withdrawal,
)

__all__ = [
    "AddressError",
    "Argon2Params",
    "DuplicateWalletError",
    "ExportedKey",
    "KeyImportError",
    "Keyring",
    "KeyringError",
    "LockoutPolicy",
    "MasterSecretError",
    "NoWalletError",
    "PinGate",
    "PinHasher",
    "PinLockedError",
    "PinNotSetError",
    "PinPolicyError",
    "RotationReport",
    "SignedWithdrawal",
    "SignerCache",
    "TokenInfo",
    "UnlockedWallet",
    "UnsealError",
    "WalletLimitError",
    "WalletNotFoundError",
    "WalletService",
    "WalletView",
    "WithdrawalError",
    "WithdrawalPreview",
    "WrongPinError",
    "preview_sol",
    "preview_token",
    "rotate",
    "sign_withdrawal",
]
