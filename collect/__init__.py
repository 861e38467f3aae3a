"""Offline photo collection from Wikidata and Wikimedia Commons (scrape_photos.py, make_gallery.py)."""
