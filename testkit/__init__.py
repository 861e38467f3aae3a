"""What the tests and the benchmarks share: fakes of the services the project talks to
(Telegram's Bot API, Wikidata and Commons), the real bot started against the fake, and small
helpers for images and rates.  Nothing in the product imports it."""
