"""The photo flow: (user, file) in, one answer out, with no Telegram UI in it."""
