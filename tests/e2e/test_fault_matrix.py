"""Every step of a photo's journey, every kind of fault, in polling and webhook mode.

One bot per mode; each scenario (step x fault) gets its own chats, so all of
them run at once and a fault aimed at one photo touches no other. A fault
happens once per photo (transient) or on every attempt (persistent: the
budget runs out). What the user sees is checked per photo: exactly one reply,
the right answer when the fault was transient, the apology only when the
budget was spent, nothing sent twice.
"""
from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

import pytest
from PIL import Image

from testkit.bot import running_bot
from testkit.fake_telegram import Call, FaultSpec
from testkit.images import jpeg

LATE = 7.0  # past the client's 5 s read time-out
FAULTS: dict[str, FaultSpec] = {
    "late": FaultSpec(status=None, delay=LATE),
    "500": FaultSpec(status=500),
    "502": FaultSpec(status=502),
    "429": FaultSpec(status=429, retry_after=1),
    "reset": FaultSpec(status=None, reset=True),
}
BODY_FAULTS: dict[str, FaultSpec] = {  # downloads only
    "cut mid-body": FaultSpec(status=None, truncate=2000),
    "short body": FaultSpec(status=None, truncate=2000, short=True),
}
STEPS = ("getFile", "file", "sendPhoto", "sendMessage", "sendChatAction")
PHOTOS_PER_SCENARIO = 2
APOLOGY = "couldn't download your photo"


@dataclass(frozen=True)
class Scenario:
    step: str
    fault: str
    persistent: bool = False

    @property
    def spec(self) -> FaultSpec:
        return {**FAULTS, **BODY_FAULTS}[self.fault]

    @property
    def expected(self) -> str:
        if self.persistent:
            return APOLOGY
        # sendMessage is on the journey of a photo without a face; the others of a face photo.
        return "couldn't find a face" if self.step == "sendMessage" else "Barack Obama"


SCENARIOS = ([Scenario(step, fault) for step in STEPS for fault in FAULTS]
             + [Scenario("file", fault) for fault in BODY_FAULTS]
             + [Scenario("getFile", "500", True), Scenario("getFile", "late", True),
                Scenario("file", "reset", True), Scenario("file", "cut mid-body", True)])


class Injector:
    """The fake's fault hook: each scenario's fault at its step, for its chats only."""

    def __init__(self, fake, chats: dict[int, Scenario]) -> None:
        self.fake = fake
        self.chats = chats
        self.faulted: set[int] = set()
        self.hits: dict[Scenario, int] = {s: 0 for s in chats.values()}
        self.lock = threading.Lock()

    def __call__(self, call: Call) -> FaultSpec | None:
        if call.method in ("getFile", "file"):
            chat = self.fake.chat_of_file(call.params.get("file_id"))
        else:
            chat = call.chat_id
        scenario = self.chats.get(chat)
        if scenario is None or scenario.step != call.method:
            return None
        with self.lock:
            if chat in self.faulted and not scenario.persistent:
                return None
            self.faulted.add(chat)
            self.hits[scenario] += 1
        return scenario.spec


async def run_matrix(demo_config, photo, webhook: bool, assets=None) -> dict[str, int]:
    face, wall = photo("obama2.jpg"), jpeg(Image.new("RGB", (900, 700), "beige"))
    base = 40000 if webhook else 30000
    chats = {base + 10 * i + k: s for i, s in enumerate(SCENARIOS) for k in range(PHOTOS_PER_SCENARIO)}
    # A photo's budget is at least two whole attempts (2 x (3 s + 3 s + size/rate), about 12 s here):
    # a transient fault always gets its retry, and a persistent one gives up after about 12 s.
    fetch = {"budget_s": 12.0, "read_timeout_s": 3.0}
    async with running_bot(demo_config, webhook=webhook, secret="s3cret" if webhook else None, assets=assets,
                           fetch=fetch, limits={"max_retries": 4}) as (fake, runner):
        injector = Injector(fake, chats)
        fake.set_fault(injector)
        # Typing indicators are skipped while the global window is full, so their
        # scenarios go first, on a quiet bot: their faults must really happen.
        first = [c for c, s in chats.items() if s.step == "sendChatAction"]
        sent = [(chat, fake.send_photo(chat, face)) for chat in first]
        await fake.wait_for_async(lambda: len(injector.faulted.intersection(first)) == len(first), timeout=60)
        sent += [(chat, fake.send_photo(chat, wall if s.step == "sendMessage" else face))
                 for chat, s in chats.items() if chat not in first]
        await fake.wait_for_async(lambda: all(fake.replies_to(c, m) for c, m in sent), timeout=240)
        await asyncio.sleep(LATE + 1)  # a late answer still lands after the client gave up on it
        fake.set_fault(None)
        figures = {"photos": len(sent), "named": 0, "apologies": 0, "silent": 0, "twice": 0}
        rows: dict[Scenario, list[str]] = {}
        for chat, mid in sent:
            scenario = chats[chat]
            replies = fake.replies_to(chat, mid)
            rows.setdefault(scenario, []).append(
                f"{len(replies)} reply" + (f" ({replies[0].method}: {replies[0].text[:40]!r})" if replies else ""))
            assert injector.hits[scenario] > 0, f"{scenario}: the fault never happened"
            assert len(fake.sent(chat)) == len(replies), f"{scenario}: a message that answers nothing"
            if not replies:
                figures["silent"] += 1
            elif len(replies) > 1:
                figures["twice"] += 1
            elif APOLOGY in replies[0].text:
                figures["apologies"] += 1
            elif "Barack Obama" in replies[0].text or "couldn't find a face" in replies[0].text:
                figures["named"] += 1
            assert len(replies) == 1, f"{scenario}: {len(replies)} replies"
            assert scenario.expected in replies[0].text, f"{scenario}: {replies[0].text!r}"
        if webhook:
            assert runner.dispatch.in_progress == 0
        # A send that timed out may have arrived: it is counted, and never sent again (checked above).
        late_sends = sum(1 for s in chats.values() if s.step in ("sendPhoto", "sendMessage") and s.fault == "late")
        assert f'lookalike_errors_total{{kind="TimedOut"}} {late_sends:.1f}' in runner.metrics.render().decode()
    mode = "webhook" if webhook else "polling"
    for scenario, outcomes in rows.items():
        print(f"{mode:8} {scenario.step:15} {scenario.fault:13} {'every attempt' if scenario.persistent else 'once':13}"
              f" faulted calls {injector.hits[scenario]:2}  " + "; ".join(outcomes))
    print(f"fault matrix ({mode}): {figures}")
    return figures


@pytest.mark.slow
async def test_fault_matrix_in_polling_and_webhook_mode(demo_config, photo, tmp_path):
    """Both modes at once, each bot with its own fake Telegram and its own state files: most
    of a run is waiting for late answers and spent budgets, which the two can share."""
    polling, webhook = await asyncio.gather(run_matrix(demo_config, photo, webhook=False),
                                            run_matrix(demo_config, photo, webhook=True, assets=tmp_path / "assets"))
    persistent = sum(s.persistent for s in SCENARIOS) * PHOTOS_PER_SCENARIO
    for figures in (polling, webhook):
        assert figures["silent"] == 0 and figures["twice"] == 0
        assert figures["apologies"] == persistent
        assert figures["named"] == figures["photos"] - persistent
