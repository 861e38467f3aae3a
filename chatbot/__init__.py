"""The Telegram bot, in three layers that import only downwards.

- ``chatbot.ui``: what the user sees; small handlers grouped by what the user
  does (commands, photos, buttons, inline mode) and the pure functions that
  word the replies.
- ``chatbot.flow``: the photo flow; one service turns (user, file) into an
  answer (fetch, embed, search, card) with no Telegram UI in it.
- ``chatbot.delivery``: getting updates in and answers out, durably: webhook
  server, journal, confirming poller, rate limits, retries, the state store.

``chatbot.app`` assembles them; ``chatbot.deps`` is the one small object the
handlers get their collaborators from. Leaf modules (``texts``, ``tags``,
``metrics``, ``redact``) are shared by all layers.
"""
