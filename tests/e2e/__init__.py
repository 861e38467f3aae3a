"""End to end: the real bot (in this process, or bot.py as its own) against the real-HTTP fake Bot API."""
