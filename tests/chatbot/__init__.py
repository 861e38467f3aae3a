"""The fast test layer: each chatbot module against python-telegram-bot's request seam.

The real Application (chatbot.app.build_application) runs on an offline Bot
API (offline.py: a BaseRequest that answers from memory and records every
call) with a stand-in photo service (standin.py), so handlers are tested by
what reaches the Bot API, in milliseconds, without worker processes, models or
sockets. Laid out like chatbot/: ui/, flow/, delivery/. The slow layer
(tests/e2e/test_bot.py and the others at the top) keeps the real bot process
against the real-HTTP fake for end-to-end, fault-matrix, kill and load tests.
"""
