"""The Telegram front: python-telegram-bot handlers, rate limits, webhook server."""
