"""Typed view of config.yaml.

The sections, their defaults and the meaning of every setting: settings/sections.py (rendered
into docs/configuration.md by ``python -m settings.reference --write``). The loader:
settings/load.py.
"""
from settings.load import DEFAULT_CONFIG, load_config
from settings.sections import (DESCRIPTOR_BACKENDS, BuildConfig, Config, EngineConfig, FetchConfig,
                               GalleryConfig, IndexConfig, LimitsConfig, Paths, PoolConfig, ScrapeConfig,
                               SearchConfig, SimilarityConfig, TelegramConfig, WebhookConfig)

__all__ = ["DEFAULT_CONFIG", "DESCRIPTOR_BACKENDS", "BuildConfig", "Config", "EngineConfig", "FetchConfig",
           "GalleryConfig", "IndexConfig", "LimitsConfig", "Paths", "PoolConfig", "ScrapeConfig", "SearchConfig",
           "SimilarityConfig", "TelegramConfig", "WebhookConfig", "load_config"]
