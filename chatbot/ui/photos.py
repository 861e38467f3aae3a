"""A photo (or image file) gets exactly one answer, whatever happens on the way.

Private chats: any photo or image file is answered. Groups: only a photo
whose caption has /lookalike, or /lookalike sent as a reply to a photo
(chatbot/ui/commands.py), so the bot never talks over a conversation.
"""
from __future__ import annotations

import logging
import time

from telegram import Message, PhotoSize, Update
from telegram.error import TimedOut

from chatbot.deps import Context, Deps
from chatbot.flow.fetch import FetchFailed, FileTooBig
from chatbot.flow.photos import Answer, PhotoRequest
from chatbot.texts import text
from chatbot.ui import replies
from chatbot.ui.language import lang_of
from chatbot.ui.send import send_shown, try_reply, uploading_photo
from worker.outcome import Outcome

log = logging.getLogger(__name__)

HEIC = ("image/heic", "image/heif")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
OUTCOME_TEXT = {
    Outcome.NO_FACE: "no_face",
    Outcome.NOT_AN_IMAGE: "not_an_image",
    Outcome.TOO_LARGE: "too_large",
}


def pick_photo(sizes: tuple[PhotoSize, ...], detect_size: int) -> PhotoSize:
    """The smallest size that still gives the detector its full resolution."""
    big_enough = [s for s in sizes if max(s.width, s.height) >= detect_size]
    if big_enough:
        return min(big_enough, key=lambda s: s.width * s.height)
    return max(sizes, key=lambda s: s.width * s.height)


def image_of(message: Message | None, detect_size: int) -> tuple[str, int | None] | str | None:
    """(file_id, size) of the image a message carries, a text key explaining why not, or None."""
    if message is None:
        return None
    if message.photo:
        size = pick_photo(message.photo, detect_size)
        return size.file_id, size.file_size
    doc = message.document
    if doc is None:
        return None
    mime = (doc.mime_type or "").lower()
    name = (doc.file_name or "").lower()
    if mime in HEIC or name.endswith((".heic", ".heif")):
        return "heic"
    if mime.startswith("image/") or name.endswith(IMAGE_SUFFIXES):
        return doc.file_id, doc.file_size
    return "not_image_document"


async def on_image(update: Update, context: Context) -> None:
    deps = context.deps
    message = update.effective_message
    deps.metrics.updates.labels("photo" if message.photo else "document").inc()
    found = image_of(message, deps.detect_size)
    if isinstance(found, tuple):
        await answer_photo(update, deps, message, *found)
    elif isinstance(found, str):
        deps.metrics.photos.labels(found).inc()
        await message.reply_text(text(lang_of(update, deps), found))


async def given_up(update: Update, deps: Deps) -> None:
    """A photo the bot kept dying on (chatbot/delivery/journal.py gives it up): one apology, not silence."""
    message = update.effective_message
    if message is None or not (message.photo or message.document):
        return
    if message.chat.type != "private" and not message.caption:  # an untagged group photo was never ours
        return
    deps.metrics.photos.labels("given_up").inc()
    await try_reply(message, text(lang_of(update, deps), "failed"))


async def answer_photo(update: Update, deps: Deps, message: Message, file_id: str, file_size: int | None) -> None:
    """Exactly one answer for one photo.

    Fetching the photo retries by itself (chatbot/flow/fetch.py); what fails
    for good before anything was sent gets a short reply saying so. A send
    that timed out may have arrived, so it gets nothing more: a second answer
    would be worse than none.
    """
    started = time.monotonic()
    lang = lang_of(update, deps)
    user = update.effective_user.id if update.effective_user else message.chat_id
    outcome = "failed"
    answered = False
    sending = False
    with deps.answering.section():
        try:
            with deps.photos.admission(user, file_size) as refusal:
                if refusal is not None:
                    outcome = refusal
                    await message.reply_text(text(lang, refusal))
                    answered = True
                    return
                async with uploading_photo(message):
                    answer = await deps.photos.answer(
                        PhotoRequest(message.chat_id, user, file_id, file_size, lang),
                        lambda match, face: replies.card_text(lang, match, face, deps.username, deps.strong))
                    outcome = answer.outcome.value
                    sending = True
                    await send_answer(message, answer, lang, deps)
                    answered = True
                    deps.metrics.faces.inc(len(answer.faces))
        except FileTooBig:
            outcome = "too_big_file"
            answered = await try_reply(message, text(lang, "too_big_file"))
        except FetchFailed as exc:
            outcome = "fetch_failed"
            deps.metrics.errors.labels(f"fetch_{type(exc.last).__name__}").inc()
            answered = await try_reply(message, text(lang, "fetch_failed"))
        except TimedOut:
            # Only a send can get here (fetching retries its own time-outs), and it may have arrived.
            deps.metrics.errors.labels("TimedOut").inc()
            log.warning("photo answer timed out; not retried to avoid a double answer")
        except Exception as exc:
            # A final error before or during a send (a 400, retries exhausted): one short reply.
            outcome = "failed"  # the user got the apology, whatever the photo's own outcome was
            deps.metrics.errors.labels(type(exc).__name__).inc()
            log.warning("photo answer failed %s sending: %s", "while" if sending else "before",
                        type(exc).__name__)
            answered = await try_reply(message, text(lang, "failed"))
        finally:
            deps.metrics.photos.labels(outcome if answered else "unanswered").inc()
            deps.metrics.latency.observe(time.monotonic() - started)


async def send_answer(message: Message, answer: Answer, lang: str, deps: Deps) -> None:
    if answer.outcome is not Outcome.OK:
        await message.reply_text(text(lang, OUTCOME_TEXT.get(answer.outcome, "failed")))
        return
    token = answer.result.token
    if answer.shown is not None:
        shown = answer.shown
        await send_shown(message, shown, replies.one_face_caption(lang, shown.matches, shown.meta, deps.strong),
                         replies.result_keyboard(lang, token, shown.face, shown.person), deps.fileids)
        return
    best = [face.matches[0] for face in answer.faces]
    await message.reply_photo(answer.annotated, caption=replies.group_caption(lang, best, answer.detected, deps.strong),
                              filename="faces.jpg", reply_markup=replies.group_keyboard(lang, token, len(best)))
