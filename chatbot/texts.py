"""Every user-facing string, in English and Russian.

Templates use HTML parse mode; anything that comes from outside (celebrity
names, authors) is escaped by the caller with ``html.escape``.
"""
from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "start": ("👋 Hi! Send me a photo of a face and I'll tell you which celebrity you look like.\n\n"
                  "Send /help for tips and a word on privacy."),
        "help": ("📸 <b>How to use</b>\n"
                 "Send a photo (or an image file: JPEG, PNG or WebP) with one or more faces, "
                 "looking at the camera, in good light.\n"
                 "In a group, add /lookalike to the photo's caption, or reply /lookalike to a photo.\n\n"
                 "🔒 <b>Privacy</b>: photos are processed in memory and never stored or logged."),
        "about": ("ℹ️ <b>About</b>\n"
                  "Gallery: {people} celebrities, {faces} photos.\n"
                  "Model: dlib HOG face detector, 5-point landmarks, ResNet 128-d face descriptor; "
                  "search: HNSW index.\n"
                  "The % is how unusually close your face is to the match: the share of celebrities "
                  "whose most similar <i>other</i> celebrity is farther away than you are from your match."),
        "one_face": "✨ You look like <b>{name}</b> — {percent}%",
        "also": "Also: {others}",
        "other": "{name} — {percent}%",
        "several_faces": "I found {count} faces:",
        "face_line": "{number}. <b>{name}</b> — {percent}%",
        "more_faces": "…and {count} more faces I did not list.",
        "credit": "Photo: {credit}",
        "no_face": ("🤔 I couldn't find a face in this picture. Try a clear, front-facing photo "
                    "with good light where the face is not too small."),
        "not_an_image": "😕 I couldn't read this file as a picture. Please send a JPEG, PNG or WebP photo.",
        "too_large": "📦 This picture is too large for me. Please send a smaller photo (under 20 MB).",
        "too_big_file": "📦 This file is too big: bots can download at most 20 MB. Please send a smaller photo.",
        "failed": "😓 Something went wrong with this photo. Please try again in a moment.",
        "fetch_failed": ("📡 I couldn't download your photo from Telegram just now (its file servers "
                         "didn't answer). Please send it again."),
        "busy": "⏳ I'm busy with your other photos right now. Please try again shortly.",
        "overloaded": "⏳ I'm very busy right now. Please try again in a minute.",
        "send_photo": "📸 Send me a photo with a face and I'll find your celebrity lookalike. /help",
        "not_image_document": "📄 That file is not an image. Please send a photo (JPEG, PNG or WebP).",
        "heic": "📄 HEIC files aren't supported. Please send the picture as a photo, not as a file.",
        "reply_to_photo": "↩️ Reply /lookalike to a message with a photo, or add /lookalike to a photo's caption.",
    },
    "ru": {
        "start": ("👋 Привет! Пришлите фото лица, и я скажу, на какую знаменитость вы похожи.\n\n"
                  "Подсказки и пара слов о приватности: /help"),
        "help": ("📸 <b>Как пользоваться</b>\n"
                 "Пришлите фото (или файл-картинку: JPEG, PNG или WebP) с одним или несколькими лицами, "
                 "смотрящими в камеру, при хорошем освещении.\n"
                 "В группе добавьте /lookalike в подпись к фото или ответьте /lookalike на фото.\n\n"
                 "🔒 <b>Приватность</b>: фото обрабатываются в памяти и нигде не сохраняются и не пишутся в логи."),
        "about": ("ℹ️ <b>О боте</b>\n"
                  "Галерея: {people} знаменитостей, {faces} фото.\n"
                  "Модель: детектор лиц dlib HOG, 5 опорных точек, дескриптор лица ResNet (128 чисел); "
                  "поиск: индекс HNSW.\n"
                  "Процент показывает, насколько необычно близко ваше лицо к найденному: доля знаменитостей, "
                  "у которых самая похожая <i>другая</i> знаменитость дальше, чем вы от вашего двойника."),
        "one_face": "✨ Вы похожи на <b>{name}</b> — {percent}%",
        "also": "Ещё: {others}",
        "other": "{name} — {percent}%",
        "several_faces": "Нашёл лиц: {count}",
        "face_line": "{number}. <b>{name}</b> — {percent}%",
        "more_faces": "…и ещё лиц: {count}, их я не перечислил.",
        "credit": "Фото: {credit}",
        "no_face": ("🤔 Не нашёл на картинке лица. Попробуйте чёткое фото анфас при хорошем свете, "
                    "где лицо не слишком маленькое."),
        "not_an_image": "😕 Не получилось прочитать файл как картинку. Пришлите фото в JPEG, PNG или WebP.",
        "too_large": "📦 Картинка слишком большая. Пришлите фото поменьше (до 20 МБ).",
        "too_big_file": "📦 Файл слишком большой: боты могут скачивать не больше 20 МБ. Пришлите фото поменьше.",
        "failed": "😓 С этим фото что-то пошло не так. Попробуйте ещё раз чуть позже.",
        "fetch_failed": ("📡 Не получилось скачать ваше фото с серверов Telegram (они не ответили). "
                         "Пожалуйста, отправьте его ещё раз."),
        "busy": "⏳ Я ещё занят вашими предыдущими фото. Попробуйте чуть позже.",
        "overloaded": "⏳ Сейчас очень много запросов. Попробуйте через минуту.",
        "send_photo": "📸 Пришлите фото с лицом, и я найду вашего двойника среди знаменитостей. /help",
        "not_image_document": "📄 Этот файл не картинка. Пришлите фото (JPEG, PNG или WebP).",
        "heic": "📄 Файлы HEIC не поддерживаются. Отправьте картинку как фото, а не как файл.",
        "reply_to_photo": "↩️ Ответьте /lookalike на сообщение с фото или добавьте /lookalike в подпись к фото.",
    },
}


def language(code: str | None) -> str:
    """Russian for Russian-language clients, English for everyone else."""
    return "ru" if code and code.lower().split("-")[0] == "ru" else "en"


def text(lang: str, key: str, **values: object) -> str:
    return TEXTS.get(lang, TEXTS["en"])[key].format(**values)
