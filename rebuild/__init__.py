"""The offline rebuild of the gallery and its index, below the scripts that run it.

build_embeddings.py, build_index.py and make_gallery.py only read their command lines; the
work is here, so the bench and the tests call what a user runs without importing a script:

- ``embeddings``: photo folders -> the gallery (uses ``cache``, ``select``, ``clean``);
- ``index``: the gallery -> the HNSW index and its calibration;
- ``make``: collect -> embed -> index with one summary (make_gallery.py).

It sits above search, worker and collect (it uses all three) and below the bot, which only reads
what it writes; the bot never imports it.
"""
