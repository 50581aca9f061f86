"""/help and the command menu (setMyCommands) cannot drift from what the routers handle: every
command a user router registers is in the menu and in /help, and nothing is in either that no
router handles. The admins' commands (answered to ADMIN_TELEGRAM_IDS only) stay out of both.
The snipe kinds, DCA sides and copy subcommands are named in /help too."""

from __future__ import annotations

import re

from aiogram import Router
from aiogram.filters import Command, CommandStart

from sniper_bot.telegram.bot import COMMANDS
from sniper_bot.telegram.routers import all_routers
from sniper_bot.telegram.routers.home import HELP

ADMIN_ROUTER = "sniper_bot.telegram.routers.admin"


def registered(router: Router) -> set[str]:
    names: set[str] = set()
    for handler in router.message.handlers:
        for flt in handler.filters or ():
            command = flt.callback
            if isinstance(command, CommandStart):
                names.add("start")
            elif isinstance(command, Command):
                names.update(c for c in command.commands if isinstance(c, str))
    for child in router.sub_routers:
        names |= registered(child)
    return names


def user_commands() -> tuple[set[str], set[str]]:
    users: set[str] = set()
    admins: set[str] = set()
    for router in all_routers():
        (admins if router.name == ADMIN_ROUTER else users).update(registered(router))
    return users, admins


def test_the_routers_register_the_commands_we_expect() -> None:
    users, admins = user_commands()
    assert {"start", "help", "snipe", "copy", "limit", "dca", "pnl"} <= users
    assert {"status", "maintenance"} <= admins  # the walk sees every router


def test_the_command_menu_is_every_user_command_and_no_other() -> None:
    users, admins = user_commands()
    menu = [c.command for c in COMMANDS]
    assert len(menu) == len(set(menu))
    assert set(menu) == users
    assert not set(menu) & admins
    assert "copy" in menu
    for command in COMMANDS:  # Telegram's limits: 1-32 lowercase, description 1-256
        assert re.fullmatch(r"[a-z0-9_]{1,32}", command.command)
        assert 1 <= len(command.description) <= 256


def test_help_names_every_user_command_and_only_those() -> None:
    users, admins = user_commands()
    text = re.sub(r"<[^>]+>", "", HELP)  # the HTML tags' slashes are not commands
    named = set(re.findall(r"(?<![\w/])/([a-z_]+)", text))
    assert named == users, (named - users, users - named)
    assert not named & admins
    usages = ("/snipe next", "/snipe grad", "/snipe dev", "/dca sell", "/dca buy", "/copy add",
              "/copy list", "/copy remove", "/limit buy", "/limit sell")  # fmt: skip
    for usage in usages:
        assert usage in HELP, usage
    assert len(HELP) <= 4096
