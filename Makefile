# Two commands for a newcomer: `make run` (install + start the bot) and `make test`.
# Every target is idempotent: a second run only redoes what changed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
# An editable install maps each top-level package it found, so a new one needs a re-install.
PKGS   := $(sort $(wildcard */__init__.py))
EDITABLE := $(VENV)/.editable-$(shell echo $(PKGS) | cksum | cut -d' ' -f1)
DEMO   := .cache/demo_photos
GALLERY_SIZE ?= 1000
INDEX  := assets/index.bin
MO     := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/lookalike.po))
MODEL  := .cache/models/dlib_face_recognition_resnet_model_v1.onnx

.PHONY: install test run bench demo gallery clean config-docs

install: $(STAMP) $(EDITABLE) $(MODEL) $(MO) $(INDEX)

# Message catalogs (chatbot/texts.py): compiled from the .po files a translator edits.
locale/%/LC_MESSAGES/lookalike.mo: locale/%/LC_MESSAGES/lookalike.po $(STAMP)
	$(VENV)/bin/pybabel -q compile -i $< -o $@

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

# The project itself, editable (pyproject.toml): `import worker, search, ...` works from any
# folder and edits take effect at once. Redone when pyproject.toml or the set of packages changes.
$(EDITABLE): pyproject.toml | $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	rm -f $(VENV)/.editable-* && touch $@

# dlib's face ResNet weights converted to ONNX (about a second), checked against a stored
# SHA-256 and against dlib on the test photos. Rebuilt when the converter or a package changes.
$(MODEL): $(STAMP) worker/dlib_dat.py worker/resnet_onnx.py
	$(PY) -m worker.resnet_onnx --out $@

# The demo gallery: real photos of two people from the face_recognition sdist.
# Skipped when assets/ already holds a gallery (a real one is never overwritten).
$(INDEX): | $(STAMP) $(MODEL)
	$(PY) -m gallery.demo --out $(DEMO)
	$(PY) build_embeddings.py --photos $(DEMO)
	$(PY) build_index.py

demo: $(STAMP)
	rm -f $(INDEX)
	$(MAKE) $(INDEX)

# A real gallery from Wikidata/Commons (docs/collecting.md): `GALLERY_SIZE=5000 make gallery`.
# Needs your contact for Wikimedia's User-Agent policy: export LOOKALIKE_CONTACT=you@your-domain.
# Resumable: run it again after an interruption. A running bot reloads the new index by itself.
gallery: install
	$(PY) make_gallery.py --size $(GALLERY_SIZE) $(GALLERY_ARGS)

test: install
	$(PY) -m pytest

run: install
	$(PY) bot.py

# Figures and how to read them: BENCHMARKS.md (the 1M-vector index run needs a big machine:
# python -m bench.index_scaling --sizes 10000,100000,1000000; the 1M-face build:
# python -m bench.build_scaling, about an hour on 2 cores).
bench: install
	$(PY) -m bench.pipeline --detect-sizes 640,560
	$(PY) -m bench.decode_detect
	$(PY) -m bench.groups --gallery -1
	$(PY) -m bench.pool_scaling --baseline --descriptors dlib,onnx
	$(PY) -m bench.index_scaling --sizes 10000,100000
	$(PY) -m bench.bot_e2e
	$(PY) -m bench.quality --splits 10 --plant 10
	$(PY) -m bench.gallery_clean --trials 3 --plants 10
	$(PY) -m bench.build_scaling --sizes 100000 --photos 48
	$(PY) -m bench.card

# docs/configuration.md from the docstrings in settings/sections.py (tests/settings/test_settings.py checks it is current).
config-docs:
	$(PY) -m settings.reference --write

clean:
	rm -rf $(VENV) .cache .pytest_cache *.egg-info
