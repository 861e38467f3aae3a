"""chatbot/ui/menus.py: the native command menus and profile texts, per language, as the Bot API gets them."""
from __future__ import annotations

from chatbot.texts import DEFAULT, languages, text
from chatbot.ui.menus import GROUP_COMMANDS, PRIVATE_COMMANDS, publish_menus
from tests.chatbot.harness import OfflineBot

METHODS = ("setMyCommands", "setMyDescription", "setMyShortDescription")


def by_language(bot: OfflineBot) -> dict[str | None, list]:
    found: dict[str | None, list] = {}
    for call in bot.api.sent(*METHODS):
        found.setdefault(call.get("language_code"), []).append(call)
    return found


async def test_every_language_gets_both_menus_and_both_descriptions(bot: OfflineBot):
    assert await publish_menus(bot.app.bot) == 0
    calls = by_language(bot)
    # English is also what clients in any other language fall back to: set without a language code
    assert set(calls) == {None, *languages()}
    for code, made in calls.items():
        lang = code or DEFAULT
        assert [c.method for c in made] == ["setMyCommands", "setMyCommands", "setMyDescription",
                                            "setMyShortDescription"]
        private, group, description, short = made
        assert private["scope"] == {"type": "all_private_chats"}
        assert private["commands"] == [{"command": n, "description": text(lang, f"cmd_{n}")}
                                       for n in PRIVATE_COMMANDS]
        assert group["scope"] == {"type": "all_group_chats"}
        assert [c["command"] for c in group["commands"]] == list(GROUP_COMMANDS)
        assert description["description"] == text(lang, "description")
        assert short["short_description"] == text(lang, "short_description")


async def test_the_russian_menu_is_in_russian(bot: OfflineBot):
    await publish_menus(bot.app.bot)
    private = by_language(bot)["ru"][0]
    assert private["commands"][0]["description"] == text("ru", "cmd_start") != text("en", "cmd_start")


async def test_a_refused_call_is_counted_and_the_others_still_made(bot: OfflineBot):
    bot.api.fail("setMyDescription", 400)
    bot.api.fail("setMyCommands", 429, retry_after=5)
    assert await publish_menus(bot.app.bot) == 2
    per_language = 4
    assert len(bot.api.sent(*METHODS)) == per_language * (len(languages()) + 1)
