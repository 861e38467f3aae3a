"""Tests of collect/."""
