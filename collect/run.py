"""A collection run as a command runs it: the progress bar, errors as exit statuses, the summary.

Shared by scrape_photos.py and make_gallery.py (step 1), so both report a missing contact, a
failed Wikidata query or Ctrl-C the same way, and neither imports the other.
"""
from __future__ import annotations

import asyncio
import sys

from tqdm.contrib.logging import logging_redirect_tqdm

from collect.agent import NoContact
from collect.http import FetchError
from collect.scrape import Options, Summary, scrape
from settings import ScrapeConfig

SHOWN_FAILURES = 20  # failed people listed on stderr; the rest are counted


def scrape_photos(scrape_cfg: ScrapeConfig, options: Options) -> Summary | int:
    """The scrape with its progress bar, or the exit status (error printed) when it could not run."""
    try:
        with logging_redirect_tqdm():
            return asyncio.run(scrape(scrape_cfg, options))
    except NoContact as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FetchError as exc:
        print(f"error: the Wikidata query failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130


def scrape_and_report(scrape_cfg: ScrapeConfig, options: Options) -> int:
    """scrape_photos() with its summary printed, as scrape_photos.py shows it; returns the exit status."""
    summary = scrape_photos(scrape_cfg, options)
    if isinstance(summary, int):
        return summary
    for line in summary.lines():
        print(line)
    for failure in summary.failures[:SHOWN_FAILURES]:
        print(f"  failed: {failure}", file=sys.stderr)
    if len(summary.failures) > SHOWN_FAILURES:
        print(f"  ... and {len(summary.failures) - SHOWN_FAILURES} more", file=sys.stderr)
    return 0 if summary.people_failed == 0 and not summary.stopped else 1
