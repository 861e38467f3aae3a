#!/usr/bin/env python
"""lookalike: the Telegram bot.

    BOT_TOKEN=... python bot.py [--config FILE]

Long polling when telegram.webhook.url is empty, else a webhook (secret from
WEBHOOK_SECRET, or generated once and kept in the state store). SIGHUP reloads a rebuilt gallery; SIGTERM stops taking
updates, answers the photos in progress and exits.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from chatbot.redact import setup_logging
from settings import load_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, help="config file (default: config.yaml)")
    args = parser.parse_args(argv)

    token = os.environ.get("BOT_TOKEN", "").strip()
    if not token:
        print("error: BOT_TOKEN is not set; get a token from @BotFather and run BOT_TOKEN=... make run",
              file=sys.stderr)
        return 2
    secret = os.environ.get("WEBHOOK_SECRET", "").strip() or None
    setup_logging([token, secret or ""])
    config = load_config(args.config)

    from chatbot.app import BotRunner  # after logging is set up: imports log

    try:
        asyncio.run(BotRunner(config, token, secret).serve_forever())
    except FileNotFoundError as exc:
        logging.getLogger("bot").error("gallery not found (%s): run `make install`", type(exc).__name__)
        return 1
    except Exception as exc:
        logging.getLogger("bot").error("bot stopped: %s", type(exc).__name__)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
