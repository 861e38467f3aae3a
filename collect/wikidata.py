"""Who to collect: famous people from the Wikidata Query Service (SPARQL).

Fame is approximated by the number of sitelinks (Wikipedia editions with an
article on the person): free, global and already indexed by WDQS.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import unquote

import ujson

from collect.http import Answer, PermanentError, PoliteClient, TimedOut, raw

ENTITY = "http://www.wikidata.org/entity/"
QID = re.compile(r"^(?:https?://(?:www\.)?wikidata\.org/(?:entity|wiki)/)?(Q[1-9][0-9]*)$", re.IGNORECASE)
BATCH = 100     # names or Q-ids per lookup query (keeps each query small and fast)

# A few everyday words; anything else must be given as a Q-id.
OCCUPATIONS = {
    "actor": "Q33999", "actress": "Q33999", "singer": "Q177220", "musician": "Q639669",
    "politician": "Q82955", "athlete": "Q2066131", "footballer": "Q937857",
    "film director": "Q2526255", "director": "Q2526255", "writer": "Q36180",
    "model": "Q4610556", "comedian": "Q245068",
}


@dataclass(frozen=True)
class Person:
    qid: str
    name: str                   # display name (label), may be anything: never a path as is
    description: str = ""
    image: str | None = None    # Commons file title of P18, "File:Barack Obama.jpg"
    category: str | None = None # Commons category (P373), without the "Category:" prefix
    wikipedia: str = ""
    sitelinks: int = 0


def parse_occupations(text: str) -> list[str]:
    """"actor,singer,Q36834" -> Q-ids; unknown words raise ValueError with the known list."""
    out = []
    for word in (w.strip() for w in text.split(",")):
        if not word:
            continue
        if m := QID.match(word):
            out.append(m.group(1).upper())
        elif word.lower() in OCCUPATIONS:
            out.append(OCCUPATIONS[word.lower()])
        else:
            raise ValueError(f"unknown occupation {word!r}: use a Q-id or one of {', '.join(sorted(OCCUPATIONS))}")
    return list(dict.fromkeys(out))


def read_names(path: Path) -> list[str]:
    """One name or Q-id per line; blank lines and # comments are skipped."""
    lines = path.read_text(encoding="utf-8").splitlines()
    cleaned = ("".join(c for c in line if c.isprintable()).strip() for line in lines)
    return list(dict.fromkeys(s for s in cleaned if s and not s.startswith("#")))


def literal(text: str) -> str:
    """A SPARQL string literal: escaping keeps a hostile name from becoming query syntax."""
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\r", "\\r").replace("\t", "\\t"))
    return f'"{escaped}"'


def _details(language: str) -> str:
    """Optional columns shared by every query: image, category, article, labels."""
    languages = ",".join(dict.fromkeys((language, "mul", "en")))
    return f"""
  OPTIONAL {{ ?person wdt:P18 ?image . }}
  OPTIONAL {{ ?person wdt:P373 ?category . }}
  OPTIONAL {{ ?article schema:about ?person ; schema:isPartOf <https://{language}.wikipedia.org/> . }}
  SERVICE wikibase:label {{ bd:serviceParam wikibase:language "{languages}". }}"""


def top_query(limit: int, occupations: Iterable[str] = (), min_sitelinks: int = 20, language: str = "en") -> str:
    """Humans with a P18 image, most sitelinks first.

    The inner query only touches people above ``min_sitelinks`` so that WDQS
    can sort them within its 60 s limit. The occupations come first (a few
    values bound before anything is scanned), then the sitelinks range with
    ``hint:Prior hint:rangeSafe true`` (the values are all integers, so
    Blazegraph may answer the FILTER from its index instead of testing every
    item; https://www.wikidata.org/wiki/Wikidata:SPARQL_query_service/query_optimization).
    One occupation hop up (P106/P279?) catches "film actor" under "actor"
    without an expensive P279* walk.
    """
    occ = list(occupations)
    occ_lines = ""
    if occ:
        values = " ".join(f"wd:{q}" for q in occ)
        occ_lines = f"\n      VALUES ?occupation {{ {values} }}\n      ?person wdt:P106/wdt:P279? ?occupation ."
    return f"""SELECT ?person ?personLabel ?personDescription ?image ?category ?article ?sitelinks WHERE {{
  {{
    SELECT DISTINCT ?person ?sitelinks WHERE {{{occ_lines}
      ?person wikibase:sitelinks ?sitelinks .
      hint:Prior hint:rangeSafe true .
      FILTER(?sitelinks >= {int(min_sitelinks)})
      ?person wdt:P31 wd:Q5 ;
              wdt:P18 ?anyImage .
    }}
    ORDER BY DESC(?sitelinks) ?person
    LIMIT {int(limit)}
  }}{_details(language)}
}}
ORDER BY DESC(?sitelinks) ?person"""


def names_query(names: list[str], language: str = "en") -> str:
    """Humans whose label (in ``language`` or the language-neutral "mul") is one of ``names``."""
    values = " ".join(f"{literal(n)}@{lang}" for n in names for lang in dict.fromkeys((language, "mul")))
    return f"""SELECT ?key ?person ?personLabel ?personDescription ?image ?category ?article ?sitelinks WHERE {{
  VALUES ?label {{ {values} }}
  ?person rdfs:label ?label ;
          wdt:P31 wd:Q5 ;
          wikibase:sitelinks ?sitelinks .
  BIND(STR(?label) AS ?key){_details(language)}
}}"""


def qids_query(qids: list[str], language: str = "en") -> str:
    values = " ".join(f"wd:{q}" for q in qids)
    return f"""SELECT ?person ?personLabel ?personDescription ?image ?category ?article ?sitelinks WHERE {{
  VALUES ?person {{ {values} }}
  OPTIONAL {{ ?person wikibase:sitelinks ?sitelinks . }}{_details(language)}
}}"""


def commons_title(image_url: str) -> str:
    """P18 value (…/Special:FilePath/Barack%20Obama.jpg) -> "File:Barack Obama.jpg"."""
    name = unquote(image_url.rsplit("/", 1)[-1]).replace("_", " ")
    return f"File:{name}"


def article_url(iri: str) -> str:
    """WDQS article IRIs encode spaces as %20; Wikipedia's own links use underscores."""
    return iri.replace("%20", "_")


def parse_rows(doc: Any) -> list[tuple[str | None, Person]]:
    """SPARQL JSON results -> (key, Person) per row; one person may span rows."""
    rows = []
    for b in doc["results"]["bindings"]:
        uri = b.get("person", {}).get("value", "")
        if not uri.startswith(ENTITY):
            continue
        qid = uri[len(ENTITY):]
        value = lambda k: b[k]["value"] if k in b else None  # noqa: E731
        try:
            sitelinks = int(value("sitelinks") or 0)
        except ValueError:
            sitelinks = 0
        rows.append((value("key"), Person(
            qid=qid, name=(value("personLabel") or qid).strip() or qid,
            description=value("personDescription") or "",
            image=commons_title(value("image")) if value("image") else None,
            category=value("category"), wikipedia=article_url(value("article") or ""), sitelinks=sitelinks)))
    return rows


def unique(people: Iterable[Person]) -> list[Person]:
    """First row per Q-id wins (extra rows come from several images or categories)."""
    seen: dict[str, Person] = {}
    for p in people:
        seen.setdefault(p.qid, p)
    return list(seen.values())


ADVICE = ("make the query cheaper: raise scrape.min_sitelinks in config.yaml (now {floor}), "
          "name occupations (--occupation actor,singer), or list people in a names file (--names FILE)")


class QueryTimeout(PermanentError):
    """WDQS stopped the query at its 60 s limit. Running it again costs another 60 s of the
    client's budget (60 s of query time per 60 s) and fails the same way: never retried."""


def read_sparql(answer: Answer) -> Any:
    """Reader for WDQS answers: a time-out is a 500 naming TimeoutException, or a 200 cut short.

    https://www.mediawiki.org/wiki/Wikidata_Query_Service/User_Manual#Query_limits
    """
    if answer.status == 500 and b"TimeoutException" in answer.body:
        raise QueryTimeout(answer.url, "the query timed out on the server (java.util.concurrent.TimeoutException)",
                           answer.status)
    body = raw(answer)
    try:
        return ujson.loads(body)
    except ValueError:
        raise QueryTimeout(answer.url, "the answer was cut short (WDQS stops streaming results at its "
                           "time limit)", answer.status) from None


async def _sparql(client: PoliteClient, endpoint: str, query: str) -> Any:
    # POST: long VALUES lists do not fit in a URL; WDQS accepts both. Its own read timeout
    # (sparql_timeout_s > 60 s): the server may think for a full minute before the first byte.
    try:
        return await client.fetch("POST", endpoint, read_sparql, timeout_s=client.config.sparql_timeout_s,
                                  retry_timeouts=False, data={"query": query, "format": "json"},
                                  headers={"Accept": "application/sparql-results+json"})
    except TimedOut as exc:
        raise QueryTimeout(exc.url, exc.reason) from None


async def top_people(client: PoliteClient, endpoint: str, limit: int, occupations: Iterable[str] = (),
                     min_sitelinks: int = 20, language: str = "en") -> list[Person]:
    try:
        doc = await _sparql(client, endpoint, top_query(limit, occupations, min_sitelinks, language))
    except QueryTimeout as exc:
        raise QueryTimeout(exc.url, f"{exc.reason}; {ADVICE.format(floor=min_sitelinks)}", exc.status) from None
    return unique(p for _, p in parse_rows(doc))[:limit]


async def lookup(client: PoliteClient, endpoint: str, entries: list[str],
                 language: str = "en") -> tuple[list[Person], list[str]]:
    """Names and Q-ids, in the file's order -> (people found, entries not found).

    A name shared by several humans resolves to the one with most sitelinks.
    """
    qids = [m.group(1).upper() for e in entries if (m := QID.match(e))]
    names = [e for e in entries if not QID.match(e)]
    by_qid: dict[str, Person] = {}
    by_name: dict[str, Person] = {}
    for i in range(0, len(qids), BATCH):
        doc = await _sparql(client, endpoint, qids_query(qids[i:i + BATCH], language))
        for _, p in parse_rows(doc):
            by_qid.setdefault(p.qid, p)
    for i in range(0, len(names), BATCH):
        doc = await _sparql(client, endpoint, names_query(names[i:i + BATCH], language))
        for key, p in parse_rows(doc):
            best = by_name.get(key or "")
            if key and (best is None or p.sitelinks > best.sitelinks):
                by_name[key] = p
    found, missing = [], []
    for e in entries:
        m = QID.match(e)
        p = by_qid.get(m.group(1).upper()) if m else by_name.get(e)
        (found.append(p) if p else missing.append(e))
    return unique(found), missing
