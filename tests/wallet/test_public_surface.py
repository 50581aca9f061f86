"""The wallet package's public names are a contract with control/, app.py and cli.py."""

from __future__ import annotations

import sniper_bot.wallet as wallet


def test_public_surface_is_pinned() -> None:
    assert sorted(wallet.__all__) == [
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
    for name in wallet.__all__:
        assert getattr(wallet, name) is not None
