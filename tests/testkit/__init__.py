"""Tests of testkit/."""
