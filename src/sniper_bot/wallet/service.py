"""WalletService: every wallet action a user can take, scoped by their Telegram user id.

User-facing methods take ``telegram_id`` (the identity Telegram vouches for) and resolve it to the
``"User"`` row; every repository call then carries that row's id, so a wallet id belonging to
someone else is indistinguishable from one that does not exist (same ``WalletNotFoundError``).
Admins (``ADMIN_TELEGRAM_IDS``) get no access to other users' keys: there is no code path that
opens a wallet for anyone but its owner. ``signer(user_id, wallet_id)`` is the trading executor's
entry: it takes the owner id from the order row, which was itself written under that scope.

Secrets: creation and import return the public key only; the secret leaves only through
``export_key`` (PIN required), whose caller shows it in a self-deleting message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from sniper_bot.domain.entities import User, Wallet
from sniper_bot.errors import PermanentError
from sniper_bot.observability.metrics import Metrics
from sniper_bot.wallet.crypto import Keyring, open_sealed, seal
from sniper_bot.wallet.keys import ExportedKey, export_key, generate_keypair, parse_secret_key
from sniper_bot.wallet.pingate import PinGate
from sniper_bot.wallet.ports import UserRepo, WalletRepo
from sniper_bot.wallet.sessions import SignerCache, UnlockedWallet

__all__ = [
    "MAX_WALLETS_PER_USER",
    "DuplicateWalletError",
    "NoWalletError",
    "WalletLimitError",
    "WalletNotFoundError",
    "WalletService",
    "WalletView",
]

MAX_WALLETS_PER_USER = 10
_MAX_LABEL_CHARS = 32

log = structlog.get_logger(__name__)


class WalletNotFoundError(PermanentError):
    def __init__(self) -> None:
        msg = "No such wallet. Use /wallet to see yours."
        super().__init__(msg, user_message=msg)


class NoWalletError(PermanentError):
    def __init__(self) -> None:
        msg = "You have no wallet yet. Create one with /wallet or import one."
        super().__init__(msg, user_message=msg)


class WalletLimitError(PermanentError):
    def __init__(self) -> None:
        msg = f"You already have {MAX_WALLETS_PER_USER} wallets; delete one before adding another."
        super().__init__(msg, user_message=msg)


class DuplicateWalletError(PermanentError):
    def __init__(self) -> None:
        msg = "This wallet is already in your list."
        super().__init__(msg, user_message=msg)


@dataclass(frozen=True, slots=True)
class WalletView:
    """What a user (and the UI) may see of a wallet: never the secret, never the ciphertext."""

    id: int
    public_key: str
    label: str
    is_active: bool
    created_at: datetime

    @classmethod
    def of(cls, wallet: Wallet) -> WalletView:
        return cls(wallet.id, wallet.public_key, wallet.label, wallet.is_active, wallet.created_at)


class WalletService:
    def __init__(
        self,
        *,
        users: UserRepo,
        wallets: WalletRepo,
        keyring: Keyring,
        signers: SignerCache,
        pins: PinGate,
        metrics: Metrics | None = None,
        admin_ids: frozenset[int] = frozenset(),
    ) -> None:
        self._users = users
        self._wallets = wallets
        self._keyring = keyring
        self._signers = signers
        self._pins = pins
        self._metrics = metrics
        self._admin_ids = admin_ids

    # --- identity -------------------------------------------------------------------------

    def is_admin(self, telegram_id: int) -> bool:
        return telegram_id in self._admin_ids

    async def _user(self, telegram_id: int) -> User:
        user = await self._users.get_by_telegram_id(telegram_id)
        if user is None:
            raise NoWalletError
        return user

    async def _owned(self, user: User, wallet_id: int) -> Wallet:
        wallet = await self._wallets.get(user.id, wallet_id)
        if wallet is None or wallet.user_id != user.id:
            raise WalletNotFoundError
        return wallet

    # --- create / import / list / select / delete ---------------------------------------------

    async def create_wallet(
        self, telegram_id: int, *, label: str | None = None, username: str | None = None
    ) -> WalletView:
        """A new keypair, sealed under the current key id, made active. Returns the public key."""
        return await self._add(telegram_id, generate_keypair(), label, username, "created")

    async def import_wallet(
        self,
        telegram_id: int,
        secret_text: str,
        *,
        label: str | None = None,
        username: str | None = None,
    ) -> WalletView:
        """Import a base58 or JSON-array secret (the caller deletes the user's message)."""
        return await self._add(
            telegram_id, parse_secret_key(secret_text), label, username, "imported"
        )

    async def _add(
        self,
        telegram_id: int,
        keypair: Keypair,
        label: str | None,
        username: str | None,
        how: str,
    ) -> WalletView:
        user = await self._users.get_or_create(telegram_id, username)
        existing = await self._wallets.list_for_user(user.id)
        public_key = str(keypair.pubkey())
        if any(w.public_key == public_key for w in existing):
            raise DuplicateWalletError
        if len(existing) >= MAX_WALLETS_PER_USER:
            raise WalletLimitError
        name = (label or "").strip()[:_MAX_LABEL_CHARS] or f"Wallet {len(existing) + 1}"
        sealed = seal(self._keyring, bytes(keypair), user_id=user.id, public_key=public_key)
        wallet = await self._wallets.create(user.id, public_key, sealed, name, make_active=True)
        log.info(f"wallet_{how}", user_id=user.id, wallet_id=wallet.id, public_key=public_key)
        return WalletView.of(wallet)

    async def list_wallets(self, telegram_id: int) -> list[WalletView]:
        user = await self._users.get_by_telegram_id(telegram_id)
        if user is None:
            return []
        return [WalletView.of(w) for w in await self._wallets.list_for_user(user.id)]

    async def active_wallet(self, telegram_id: int) -> WalletView:
        user = await self._user(telegram_id)
        wallet = await self._wallets.get_active(user.id)
        if wallet is None:
            raise NoWalletError
        return WalletView.of(wallet)

    async def set_active(self, telegram_id: int, wallet_id: int) -> WalletView:
        user = await self._user(telegram_id)
        wallet = await self._owned(user, wallet_id)
        return WalletView.of(await self._wallets.set_active(user.id, wallet.id))

    async def delete_wallet(self, telegram_id: int, wallet_id: int, pin: str) -> None:
        """Forget a wallet (PIN required: funds on it are lost unless the key was exported)."""
        user = await self._user(telegram_id)
        wallet = await self._owned(user, wallet_id)
        await self._pins.require(user, pin)
        if not await self._wallets.delete(user.id, wallet.id):
            raise WalletNotFoundError
        self._signers.evict(user.id, wallet.id)
        log.info("wallet_deleted", user_id=user.id, wallet_id=wallet.id)

    # --- PIN ----------------------------------------------------------------------------------

    async def has_pin(self, telegram_id: int) -> bool:
        user = await self._users.get_by_telegram_id(telegram_id)
        return user is not None and user.has_pin

    async def set_pin(
        self, telegram_id: int, new_pin: str, *, current_pin: str | None = None
    ) -> None:
        """Set the first PIN, or change it (the current PIN is then required)."""
        user = await self._users.get_or_create(telegram_id, None)
        await self._pins.set_pin(user, new_pin, current_pin)

    # --- secrets out ----------------------------------------------------------------------------

    async def export_key(self, telegram_id: int, wallet_id: int, pin: str) -> ExportedKey:
        """The wallet's secret in base58 and JSON-array form. The message showing it must
        self-delete; nothing here logs it."""
        user = await self._user(telegram_id)
        wallet = await self._owned(user, wallet_id)
        await self._pins.require(user, pin)
        unlocked = self._open(wallet)
        log.warning("wallet_exported", user_id=user.id, wallet_id=wallet.id)
        return export_key(unlocked.keypair)

    async def unlock_for_withdrawal(
        self, telegram_id: int, wallet_id: int | None, pin: str
    ) -> UnlockedWallet:
        """The signer of the user's wallet (active one when ``wallet_id`` is None), PIN-checked."""
        user = await self._user(telegram_id)
        wallet = await self._wallet_or_active(user.id, wallet_id)
        await self._pins.require(user, pin)
        return await self.signer(user.id, wallet.id)

    async def _wallet_or_active(self, user_id: int, wallet_id: int | None) -> Wallet:
        if wallet_id is None:
            wallet = await self._wallets.get_active(user_id)
            if wallet is None:
                raise NoWalletError
            return wallet
        found = await self._wallets.get(user_id, wallet_id)
        if found is None or found.user_id != user_id:
            raise WalletNotFoundError
        return found

    async def signer(self, user_id: int, wallet_id: int | None = None) -> UnlockedWallet:
        """The trading executor's signer for an order's (user id, wallet id); the active wallet
        when ``wallet_id`` is None. Held in memory for the session TTL after each use."""
        if wallet_id is not None:
            cached = self._signers.get(user_id, wallet_id)
            if cached is not None:
                self._count("cached")
                return cached
        wallet = await self._wallet_or_active(user_id, wallet_id)
        cached = self._signers.get(user_id, wallet.id)
        if cached is not None:
            self._count("cached")
            return cached
        unlocked = self._open(wallet)
        self._signers.put(unlocked)
        return unlocked

    def _open(self, wallet: Wallet) -> UnlockedWallet:
        try:
            keypair = open_sealed(
                self._keyring, wallet.sealed, user_id=wallet.user_id, public_key=wallet.public_key
            )
        except PermanentError:
            self._count("failed")
            log.error(
                "wallet_unseal_failed",
                user_id=wallet.user_id,
                wallet_id=wallet.id,
                key_id=wallet.sealed.key_id,
            )
            raise
        self._count("ok")
        # open_sealed proved keypair.pubkey() == public_key; decoding the string is ~30x cheaper
        # than deriving the public key again (STACK-NOTES 8).
        return UnlockedWallet(
            wallet.user_id, wallet.id, Pubkey.from_string(wallet.public_key), keypair
        )

    def _count(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.wallet_unlocks.labels(outcome=outcome).inc()
