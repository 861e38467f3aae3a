"""chatbot/flow/photos.py: the real PhotoService over a tiny real gallery index, with a stand-in worker pool.

The end-to-end layer (tests/e2e/test_bot.py) runs it with real workers and
models; here the parts that need neither: admission, the answer's shape,
"more", the card's second trip, and search by name. The HNSW index is real
(nmslib, 16 faces), so matches are what FaceIndex.search gives.
"""
from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np
import pytest
from telegram.error import BadRequest

from chatbot.flow.fetch import MAX_DOWNLOAD
from chatbot.flow.live_index import LiveIndex
from chatbot.flow.photos import PhotoRequest, PhotoService, search_names
from chatbot.flow.results import ResultStore
from gallery.store import Gallery
from search.calibration import Calibration
from search.index import FaceIndex, new_hnsw
from settings import Config
from tests.chatbot.harness import OfflineBot
from tests.chatbot.standin import PHOTO
from worker.card import CardText
from worker.outcome import LOST_WITH_POOL, EmbedResult, Face, Outcome

NAMES = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Adam Smith", "Katherine Johnson", "Édith Piaf",
         "Johann Strauß", "Ada"]
FACES_EACH = 2


def centres() -> np.ndarray:
    rng = np.random.default_rng(18)
    c = rng.normal(size=(len(NAMES), 128)).astype(np.float32)
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def tiny_index(config: Config, assets: Path) -> FaceIndex:
    person_ids = np.repeat(np.arange(len(NAMES)), FACES_EACH).astype(np.int32)
    rng = np.random.default_rng(7)
    vectors = centres()[person_ids] + rng.normal(scale=0.02, size=(len(person_ids), 128)).astype(np.float32)
    faces = [{"thumbnail": f"thumbs/{i:02d}.jpg", "author": f"Author {i}", "license": "CC0"}
             for i in range(len(person_ids))]
    people = [{"name": n, "wikipedia": ""} for n in NAMES]
    gallery = Gallery(None, person_ids, faces, people, assets)
    meta = {"faces": len(faces), "calibration": Calibration(mean=0.9, std=0.1, source="prior").to_json()}
    return FaceIndex(gallery, new_hnsw(vectors, config.index, threads=1), meta, config)


def face_like(person: int, left: int = 0) -> Face:
    return Face(box=(left, 0, left + 80, 80), vector=centres()[person], score=1.0, width=80, eye_distance=30.0,
                roll=0.0, chip=b"chip-%d" % person)


class StandInPool:
    """The worker pool's three jobs, answered from a queue of prepared results."""
    workers = 1

    def __init__(self) -> None:
        self.results: deque[EmbedResult] = deque()
        self.embedded: list[bytes] = []
        self.cards: list[tuple] = []

    async def embed(self, data: bytes, annotate: bool, chips: int) -> EmbedResult:
        self.embedded.append(data)
        return self.results.popleft()

    async def card(self, chip: bytes, thumb: Path, words: CardText) -> bytes:
        self.cards.append(("chip", chip, thumb, words))
        return b"card"

    async def card_from_photo(self, photo: bytes, box: tuple, thumb: Path, words: CardText) -> bytes:
        self.cards.append(("photo", photo, box, thumb, words))
        return b"card-from-photo"


@pytest.fixture
def service_config(config: Config, tmp_path: Path) -> Config:
    return config.replace(paths={"assets": tmp_path},
                          telegram={"limits": {"per_user_pending": 2, "max_in_flight": 3}})


@pytest.fixture
def pool() -> StandInPool:
    return StandInPool()


@pytest.fixture
def service(service_config: Config, pool: StandInPool, bot: OfflineBot, tmp_path: Path) -> PhotoService:
    index = tiny_index(service_config, tmp_path)
    return PhotoService(service_config, pool, LiveIndex(service_config, index), ResultStore(3600, 100),
                        bot.app.bot)


def words(match, meta) -> CardText:
    return CardText("You look like", "You", match.name, "80%", meta["author"], "@bot")


def request(file_id: str = "photo-1", user: int = 1001) -> PhotoRequest:
    return PhotoRequest(chat_id=user, user=user, file_id=file_id, file_size=len(PHOTO), lang="en")


# -- admission -------------------------------------------------------------------------------

def test_a_file_over_the_download_limit_is_refused_and_takes_no_place(service: PhotoService):
    with service.admission(1, MAX_DOWNLOAD + 1) as refusal:
        assert refusal == "too_big_file"
        assert service.in_progress == 0
    with service.admission(1, MAX_DOWNLOAD) as refusal:
        assert refusal is None


def test_a_user_may_have_a_few_photos_in_progress_and_everyone_together_a_limit(service: PhotoService):
    with service.admission(1, None) as a1, service.admission(1, None) as a2, service.admission(1, None) as a3:
        assert (a1, a2, a3) == (None, None, "busy")
        assert service.in_progress == 2
        with service.admission(2, None) as b1, service.admission(3, None) as c1:
            assert (b1, c1) == (None, "overloaded")
            assert service.in_progress == 3
    assert service.in_progress == 0


def test_an_admitted_photo_leaves_its_place_also_when_answering_fails(service: PhotoService):
    with pytest.raises(RuntimeError):
        with service.admission(1, None) as refusal:
            assert refusal is None
            raise RuntimeError("send failed")
    assert service.in_progress == 0


# -- the answer --------------------------------------------------------------------------------

async def test_one_face_is_searched_stored_and_shown_with_its_card(service: PhotoService, pool: StandInPool,
                                                                   bot: OfflineBot, tmp_path: Path):
    bot.api.serve_file("photo-1", PHOTO)
    pool.results.append(EmbedResult(Outcome.OK, [face_like(2)], detected=1))
    answer = await service.answer(request(), words)
    assert answer.outcome is Outcome.OK and pool.embedded == [PHOTO]
    [face] = answer.faces
    assert [m.name for m in face.matches][0] == "Grace Hopper"
    assert len(face.matches) == service.config.search.top_k and len({m.person for m in face.matches}) == 3
    assert service.results.get(answer.result.token, 1001) is answer.result
    shown = answer.shown
    best = face.matches[0]
    assert shown.face == 0 and shown.matches == face.matches and shown.card == b"card"
    assert shown.meta == {"thumbnail": f"thumbs/{best.face:02d}.jpg", "author": f"Author {best.face}",
                          "license": "CC0"}
    assert shown.person["name"] == "Grace Hopper" and shown.thumbnail == tmp_path / shown.meta["thumbnail"]
    [(kind, chip, thumb, card_words)] = pool.cards
    assert (kind, chip, thumb) == ("chip", b"chip-2", shown.thumbnail)
    assert card_words.name == "Grace Hopper" and card_words.credit == f"Author {best.face}"


async def test_several_faces_get_the_annotated_photo_and_no_card_yet(service: PhotoService, pool: StandInPool,
                                                                     bot: OfflineBot):
    bot.api.serve_file("photo-1", PHOTO)
    pool.results.append(EmbedResult(Outcome.OK, [face_like(0), face_like(4, left=100)], detected=5,
                                    annotated=b"boxes"))
    answer = await service.answer(request(), words)
    assert answer.shown is None and answer.annotated == b"boxes" and answer.detected == 5
    assert [f.matches[0].name for f in answer.faces] == ["Ada Lovelace", "Katherine Johnson"]
    assert [f.box for f in answer.faces] == [(0, 0, 80, 80), (100, 0, 180, 80)]
    assert pool.cards == []


async def test_a_photo_without_a_face_is_answered_with_its_outcome_and_not_stored(service: PhotoService,
                                                                                  pool: StandInPool, bot: OfflineBot):
    bot.api.serve_file("photo-1", PHOTO)
    pool.results.append(EmbedResult(Outcome.NO_FACE))
    answer = await service.answer(request(), words)
    assert answer.outcome is Outcome.NO_FACE and answer.result is None and answer.faces == []
    assert len(service.results) == 0


async def test_a_worker_that_dies_under_a_photo_gets_one_more_try(service: PhotoService, pool: StandInPool,
                                                                  bot: OfflineBot):
    bot.api.serve_file("photo-1", PHOTO)
    pool.results.extend([EmbedResult(Outcome.WORKER_DIED), EmbedResult(Outcome.OK, [face_like(1)], detected=1)])
    assert (await service.answer(request(), words)).outcome is Outcome.OK
    pool.results.extend([EmbedResult(Outcome.WORKER_DIED), EmbedResult(Outcome.WORKER_DIED)])
    assert (await service.answer(request(), words)).outcome is Outcome.WORKER_DIED
    assert len(pool.embedded) == 4


async def test_a_photo_lost_with_its_pool_is_tried_again_without_counting_as_killing_its_worker(
        service: PhotoService, pool: StandInPool, bot: OfflineBot):
    """A worker killed mid-message breaks the whole pebble pool: the retry of the photo that was on
    it is lost with the pool too. That is not the photo's doing, so it still gets its answer."""
    bot.api.serve_file("photo-1", PHOTO)
    lost = EmbedResult(Outcome.WORKER_DIED, detail=f"{LOST_WITH_POOL}: worker pool broken")
    killed = EmbedResult(Outcome.WORKER_DIED, detail="worker exit code -9")
    pool.results.extend([killed, lost, lost, EmbedResult(Outcome.OK, [face_like(1)], detected=1)])
    assert (await service.answer(request(), words)).outcome is Outcome.OK
    pool.results.extend([lost, lost, lost])  # a pool that keeps breaking: a failure after three
    assert (await service.answer(request(), words)).outcome is Outcome.WORKER_DIED
    assert len(pool.embedded) == 7


async def test_without_cards_one_face_is_shown_by_the_celebritys_photo(service: PhotoService, pool: StandInPool,
                                                                       bot: OfflineBot):
    service.config = service.config.replace(telegram={"result_card": False})
    bot.api.serve_file("photo-1", PHOTO)
    pool.results.append(EmbedResult(Outcome.OK, [face_like(3)], detected=1))
    answer = await service.answer(request(), words)
    assert answer.shown.card is None and pool.cards == []


async def test_a_file_telegram_refuses_raises_bad_request_before_any_work(service: PhotoService,
                                                                          pool: StandInPool):
    with pytest.raises(BadRequest):
        await service.answer(request("not-served"), words)
    assert pool.embedded == [] and service.in_progress == 0


async def test_a_face_card_fetches_the_photo_again_and_cuts_that_face(service: PhotoService, pool: StandInPool,
                                                                      bot: OfflineBot):
    bot.api.serve_file("photo-1", PHOTO)
    pool.results.append(EmbedResult(Outcome.OK, [face_like(0), face_like(4, left=100)], detected=2,
                                    annotated=b"boxes"))
    answer = await service.answer(request(), words)
    shown = await service.face_card(answer.result, 1, words)
    assert len(bot.api.sent("getFile")) == 2
    assert shown.face == 1 and shown.card == b"card-from-photo" and shown.person["name"] == "Katherine Johnson"
    [(kind, photo, box, thumb, card_words)] = pool.cards
    assert (kind, photo, box) == ("photo", PHOTO, (100, 0, 180, 80))
    assert card_words.name == "Katherine Johnson"


# -- more, search by name, the gallery -----------------------------------------------------------

async def test_more_goes_past_what_the_answer_named(service: PhotoService, pool: StandInPool, bot: OfflineBot):
    bot.api.serve_file("photo-1", PHOTO)
    pool.results.append(EmbedResult(Outcome.OK, [face_like(2)], detected=1))
    single = (await service.answer(request(), words)).result
    matches, shown = service.more(single, 0, 4)
    assert shown == 3 and len(matches) == 7
    assert matches[:3] == single.faces[0].matches  # the same search, longer
    pool.results.append(EmbedResult(Outcome.OK, [face_like(0), face_like(4, left=100)], detected=2))
    group = (await service.answer(request(), words)).result
    matches, shown = service.more(group, 1, 4)
    assert shown == 1 and len(matches) == 5 and matches[0].name == "Katherine Johnson"


def test_the_gallery_size_is_people_and_faces(service: PhotoService):
    assert service.gallery_size() == (len(NAMES), FACES_EACH * len(NAMES))


def test_people_are_found_by_name_with_the_face_that_represents_them(service: PhotoService, tmp_path: Path):
    found = service.find_people("ada", 10)
    assert [p.name for p in found] == ["Ada", "Adam Smith", "Ada Lovelace"]  # starting with it, shorter first
    ada = found[2]
    assert (ada.index, ada.face) == (0, 0)
    assert ada.thumbnail_key == "thumbs/00.jpg" and ada.thumbnail == tmp_path / "thumbs/00.jpg"
    assert [p.name for p in service.find_people("ADA", 2)] == ["Ada", "Adam Smith"]


def test_a_thumbnail_is_its_cache_key_and_its_file(service: PhotoService, tmp_path: Path):
    assert service.thumbnail(5) == ("thumbs/05.jpg", tmp_path / "thumbs/05.jpg")


@pytest.mark.parametrize("query, found", [
    ("ada", [7, 3, 0]),           # names that start with it, shorter first
    ("ing", [1]),                 # anywhere in the name
    ("  Turing ", [1]),           # spaces around ignored
    ("ÉDITH", [5]),               # case-insensitive beyond ASCII
    ("STRASSE", []), ("strauss", [6]),  # casefold: ß is ss
    ("", []), ("   ", []),
    ("o", [0, 2, 4, 6]),
])
def test_search_names(query: str, found: list[int]):
    assert sorted(search_names(NAMES, query, 10)) == sorted(found)
    if query.strip() == "ada":
        assert search_names(NAMES, query, 10) == found


def test_search_names_keeps_to_its_limit():
    assert len(search_names(NAMES, "a", 3)) == 3
