"""Tests of rebuild/."""
