"""Tests of gallery/."""
