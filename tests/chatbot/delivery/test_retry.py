"""chatbot/delivery/retry.py: the waits every Telegram retry loop shares."""
from __future__ import annotations

import datetime as dtm
import pytest
from telegram.error import RetryAfter

from chatbot.delivery.retry import backoff, retry_delay
from chatbot.flow.fetch import pause
from tests.chatbot.harness import OfflineBot


@pytest.mark.parametrize("failures, wait", [(0, 0.5), (1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (10, 256.0)])
def test_backoff_doubles_from_the_first_wait(failures: int, wait: float):
    assert backoff(0.5, failures) == wait


def test_backoff_stops_at_its_cap():
    assert [backoff(1.0, n, cap=5.0) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_backoff_stays_at_its_cap_however_long_the_failures_go_on():
    assert backoff(1.0, 1030, cap=30.0) == 30.0


async def test_retry_delay_reads_what_telegram_sent_in_a_429(bot: OfflineBot):
    bot.api.fail("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as raised:
        await bot.app.bot.send_message(1001, "hi")
    assert retry_delay(raised.value) == 7.0


@pytest.mark.parametrize("given, seconds", [(3, 3.0), (dtm.timedelta(seconds=2.5), 2.5)])
def test_retry_delay_is_seconds_whichever_form_ptb_keeps(given, seconds: float):
    assert retry_delay(RetryAfter(given)) == seconds


def test_a_fetch_waits_telegrams_retry_after_and_a_little_more_else_its_own_step():
    assert pause(RetryAfter(4), step=0.5) == pytest.approx(4.1)
    assert pause(TimeoutError(), step=0.5) == 0.5
