"""What each kind of message gets: handlers registered on the Application.

Private chats: any photo or image file is answered. Groups: only a photo
whose caption has /lookalike, or /lookalike sent as a reply to a photo, so the
bot never talks over a conversation. Edited messages are ignored: an edited
caption is not a new photo, and every photo gets exactly one answer.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

from telegram import InlineKeyboardMarkup, Message, PhotoSize, ReplyParameters, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, TelegramError, TimedOut
from telegram.ext import (Application, CallbackQueryHandler, CommandHandler, ContextTypes, InlineQueryHandler,
                          MessageHandler, filters)

from chatbot.fairqueue import FairQueue
from chatbot.fetch import MAX_DOWNLOAD, FetchFailed, FileTooBig, fetch_photo
from chatbot.fileids import FileIdCache
from chatbot import replies
from chatbot.menus import publish_menus
from chatbot.metrics import Metrics
from chatbot.prefs import LanguagePrefs
from chatbot.results import FaceResult, Result, ResultStore
from chatbot.service import Analysis, Lookalike
from chatbot.texts import language, text
from settings import Config
from worker.outcome import Outcome

log = logging.getLogger(__name__)

HEIC = ("image/heic", "image/heif")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
OUTCOME_TEXT = {
    Outcome.NO_FACE: "no_face",
    Outcome.NOT_AN_IMAGE: "not_an_image",
    Outcome.TOO_LARGE: "too_large",
    Outcome.BUSY: "overloaded",
}

DEEP_LINK = "share"  # t.me/<bot>?start=share, in every shared result
NEW = filters.UpdateType.MESSAGE
PRIVATE = filters.ChatType.PRIVATE
LOOKALIKE_TAG = r"(?i)(^|\s)/lookalike(@\w+)?(\s|$)"  # in a caption: "answer this photo" in groups
TAGGED = filters.ChatType.GROUPS & filters.CaptionRegex(LOOKALIKE_TAG)


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


class Front:
    """The handlers plus the state they share (queue, metrics, file_id cache)."""

    def __init__(self, config: Config, service: Lookalike, metrics: Metrics) -> None:
        self.config = config
        self.service = service
        self.metrics = metrics
        limits = config.telegram.limits
        self.queue = FairQueue(slots=service.pool.workers * 2, per_user=limits.per_user_pending,
                               max_total=limits.max_in_flight)
        self.fileids: FileIdCache | None = None
        self.results = ResultStore(config.telegram.results_ttl_s, config.telegram.max_results)
        self.prefs: LanguagePrefs | None = None
        self.username = "lookalike_bot"
        self.strong = config.similarity.strong_match  # below it: "no strong lookalike", then the nearest
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()
        metrics.watch(lambda: self.queue.in_progress, lambda: service.pool.pending)

    def register(self, app: Application) -> None:
        from chatbot.buttons import Buttons
        from chatbot.inline import InlineSearch

        buttons, inline = Buttons(self), InlineSearch(self)
        app.add_handler(CommandHandler("start", self.on_start, filters=NEW))
        app.add_handler(CommandHandler("help", self.on_help, filters=NEW))
        app.add_handler(CommandHandler("about", self.on_about, filters=NEW))
        app.add_handler(CommandHandler("privacy", self.on_privacy, filters=NEW))
        app.add_handler(CommandHandler("language", buttons.on_language_command, filters=NEW))
        app.add_handler(CommandHandler("lookalike", self.on_lookalike_command, filters=NEW))
        app.add_handler(MessageHandler(NEW & (filters.PHOTO | filters.Document.ALL) & (PRIVATE | TAGGED),
                                       self.on_image))
        app.add_handler(MessageHandler(NEW & PRIVATE, self.on_other))
        app.add_handler(CallbackQueryHandler(buttons.on_button))
        app.add_handler(InlineQueryHandler(inline.on_query))
        app.add_error_handler(self.on_error)

    async def post_init(self, app: Application, prefs: LanguagePrefs | None = None) -> None:
        """After Application.initialize (which fetched getMe): per-bot state and the native menus."""
        self.fileids = FileIdCache(self.config.paths.assets / "telegram_file_ids.json", app.bot.id)
        self.username = app.bot.username or "lookalike_bot"
        self.prefs = prefs
        await publish_menus(app.bot)

    # -- commands ------------------------------------------------------------
    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start, or a deep link t.me/<bot>?start=share from someone's shared result."""
        self.metrics.updates.labels("command").inc()
        shared = bool(context.args) and context.args[0] == DEEP_LINK
        await self.reply_text(update.effective_message, text(self.lang(update), "welcome_shared" if shared else "start"))

    async def on_privacy(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.metrics.updates.labels("command").inc()
        await self.reply_text(update.effective_message, text(self.lang(update), "privacy"))

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.metrics.updates.labels("command").inc()
        await self.reply_text(update.effective_message, text(self.lang(update), "help"))

    async def on_about(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.metrics.updates.labels("command").inc()
        gallery = self.service.index.gallery
        await self.reply_text(update.effective_message, text(
            self.lang(update), "about", people=len(gallery.people), faces=len(gallery)))

    async def on_lookalike_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.metrics.updates.labels("command").inc()
        message = update.effective_message
        target = message.reply_to_message
        found = image_of(target, self.config.engine.detect_size)
        if isinstance(found, tuple):
            await self.answer_photo(update, target, *found)
        else:
            await self.reply_text(message, text(self.lang(update), "reply_to_photo"))

    # -- messages ------------------------------------------------------------
    async def on_image(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        found = image_of(message, self.config.engine.detect_size)
        self.metrics.updates.labels("photo" if message.photo else "document").inc()
        if isinstance(found, tuple):
            await self.answer_photo(update, message, *found)
        elif isinstance(found, str):
            self.metrics.photos.labels(found).inc()
            await self.reply_text(message, text(self.lang(update), found))

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.metrics.updates.labels("other").inc()
        await self.reply_text(update.effective_message, text(self.lang(update), "send_photo"))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Only the type: messages of some errors quote request data.
        self.metrics.errors.labels(type(context.error).__name__).inc()
        log.error("unhandled error in a handler: %s", type(context.error).__name__)

    # -- the photo flow --------------------------------------------------------
    async def answer_photo(self, update: Update, message: Message, file_id: str, file_size: int | None) -> None:
        """Exactly one answer for one photo, whatever happens on the way.

        Fetching the photo retries by itself (chatbot/fetch.py); what fails for
        good before anything was sent gets a short reply saying so. A send that
        timed out may have arrived, so it gets nothing more: a second answer
        would be worse than none.
        """
        started = time.monotonic()
        lang = self.lang(update)
        user = update.effective_user.id if update.effective_user else message.chat_id
        outcome = "failed"
        answered = False
        sending = False
        self._enter()
        try:
            if file_size and file_size > MAX_DOWNLOAD:
                outcome = "too_big_file"
            else:
                outcome = self.queue.admit(user) or "admitted"
            if outcome != "admitted":
                await self.reply_text(message, text(lang, outcome))
                answered = True
                return
            try:
                async with self.chat_action(message, ChatAction.UPLOAD_PHOTO):
                    analysis = await self.analyse(user, file_id, file_size)
                    outcome = analysis.outcome.value
                    sending = True
                    await self.send_analysis(message, analysis, lang, file_id, user)
                    answered = True
                    self.metrics.faces.inc(len(analysis.faces))
            finally:
                self.queue.leave(user)
        except FileTooBig:
            outcome = "too_big_file"
            answered = await self.try_reply(message, text(lang, "too_big_file"))
        except FetchFailed as exc:
            outcome = "fetch_failed"
            self.metrics.errors.labels(f"fetch_{type(exc.last).__name__}").inc()
            answered = await self.try_reply(message, text(lang, "fetch_failed"))
        except TimedOut:
            # Only a send can get here (fetching retries its own time-outs), and it may have arrived.
            self.metrics.errors.labels("TimedOut").inc()
            log.warning("photo answer timed out; not retried to avoid a double answer")
        except Exception as exc:
            # A final error before or during a send (a 400, retries exhausted): one short reply.
            self.metrics.errors.labels(type(exc).__name__).inc()
            log.warning("photo answer failed %s sending: %s", "while" if sending else "before",
                        type(exc).__name__)
            answered = await self.try_reply(message, text(lang, "failed"))
        finally:
            self.metrics.photos.labels(outcome if answered else "unanswered").inc()
            self.metrics.latency.observe(time.monotonic() - started)
            self._leave()

    async def analyse(self, user: int, file_id: str, file_size: int | None) -> Analysis:
        data = await fetch_photo(self.bot, file_id, file_size, self.config.telegram.fetch)  # in memory only
        async with self.queue.slot(user):
            return await self.service.analyse(data)

    async def send_analysis(self, message: Message, analysis: Analysis, lang: str, file_id: str,
                            user: int) -> None:
        if analysis.outcome is not Outcome.OK:
            await self.reply_text(message, text(lang, OUTCOME_TEXT.get(analysis.outcome, "failed")))
            return
        token = self.results.put(Result(
            message.chat_id, user, file_id, lang, [FaceResult(fm.face.vector, fm.face.box, fm.matches)
                                                   for fm in analysis.faces]))
        if len(analysis.faces) == 1:
            fm = analysis.faces[0]
            await self.send_face_result(message, analysis.index, fm.matches, lang, token, 0, chip=fm.face.chip)
            return
        best = [fm.matches[0] for fm in analysis.faces]
        await self.bot.send_photo(message.chat_id, analysis.annotated,
                                  caption=replies.group_caption(lang, best, analysis.detected, self.strong),
                                  parse_mode=ParseMode.HTML, filename="faces.jpg", reply_parameters=reply_to(message),
                                  reply_markup=replies.group_keyboard(lang, token, len(analysis.faces)))

    async def send_face_result(self, message: Message, index, matches: list, lang: str, token: str, face: int, *,
                               chip: bytes | None = None, photo: bytes | None = None,
                               box: tuple[int, int, int, int] | None = None) -> None:
        """One face's answer: the card (from the chip, or cut from the photo again), caption, buttons.

        Without a card (it failed, or the face came without a chip) the
        celebrity's own photo goes instead, so the answer never depends on it.
        """
        best = matches[0]
        face_meta = index.gallery.faces[best.face]
        caption = replies.one_face_caption(lang, matches, face_meta, self.strong)
        keyboard = replies.result_keyboard(lang, token, face, index.gallery.people[best.person])
        words = replies.card_text(lang, best, face_meta, self.username, self.strong)
        thumb = index.gallery.thumbnail(best.face)
        card = None
        wanted = self.config.telegram.result_card
        if wanted and chip is not None:
            card = await self.service.pool.card(chip, thumb, words)
        elif wanted and photo is not None and box is not None:
            card = await self.service.pool.card_from_photo(photo, box, thumb, words)
        if card is None:
            await self.send_thumbnail(message, face_meta["thumbnail"], thumb, caption, keyboard)
            return
        await self.bot.send_photo(message.chat_id, card, caption=caption, parse_mode=ParseMode.HTML,
                                  filename="lookalike.jpg", reply_parameters=reply_to(message),
                                  reply_markup=keyboard)

    async def send_thumbnail(self, message: Message, key: str, path: Path, caption: str,
                             keyboard: InlineKeyboardMarkup | None = None) -> None:
        """Send a celebrity thumbnail by cached file_id, uploading it the first time."""
        file_id = self.fileids.get(key) if self.fileids else None
        if file_id:
            try:
                await self.bot.send_photo(message.chat_id, file_id, caption=caption, parse_mode=ParseMode.HTML,
                                          reply_parameters=reply_to(message), reply_markup=keyboard)
                return
            except BadRequest:
                self.fileids.forget(key)  # expired or from another bot: upload again
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError:
            await self.reply_text(message, caption)  # gallery changed under us: the words still help
            return
        sent = await self.bot.send_photo(message.chat_id, data, caption=caption, parse_mode=ParseMode.HTML,
                                         filename=Path(key).name, reply_parameters=reply_to(message),
                                         reply_markup=keyboard)
        if self.fileids and sent.photo:
            self.fileids.put(key, sent.photo[-1].file_id)

    # -- helpers -----------------------------------------------------------------
    @property
    def bot(self):
        return self._bot

    def bind(self, app: Application) -> None:
        self._bot = app.bot

    def lang(self, update: Update) -> str:
        """The language the user chose with /language, else their Telegram client's."""
        user = update.effective_user
        if user is None:
            return language(None)
        chosen = self.prefs.get(user.id) if self.prefs else None
        return chosen or language(user.language_code)

    async def reply_text(self, message: Message, body: str) -> None:
        await self.bot.send_message(message.chat_id, body, parse_mode=ParseMode.HTML,
                                    reply_parameters=reply_to(message))

    async def try_reply(self, message: Message, body: str) -> bool:
        try:
            await self.reply_text(message, body)
            return True
        except TelegramError:
            return False

    @contextlib.asynccontextmanager
    async def chat_action(self, message: Message, action: str) -> AsyncIterator[None]:
        """Keep "sending photo..." visible while the photo is processed (it lasts 5 s)."""
        async def refresh() -> None:
            while True:
                with contextlib.suppress(TelegramError):
                    await self.bot.send_chat_action(message.chat_id, action)
                await asyncio.sleep(4.5)

        task = asyncio.create_task(refresh())
        try:
            yield
        finally:
            task.cancel()

    def _enter(self) -> None:
        self._active += 1
        self._idle.clear()

    def _leave(self) -> None:
        self._active -= 1
        if self._active == 0:
            self._idle.set()

    @property
    def active(self) -> int:
        return self._active

    async def drain(self, timeout: float) -> bool:
        """Wait for photos in progress to be answered (SIGTERM); False on time-out."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False


def reply_to(message: Message) -> ReplyParameters:
    return ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True)


