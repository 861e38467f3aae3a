"""The celebrity gallery: photo folders in, embeddings + metadata + thumbnails out."""
