"""config.yaml is short and changes nothing; every other setting keeps its default, can be set by
name, and is documented once; unknown keys fail; docs/configuration.md is current."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from settings import DEFAULT_CONFIG, Config, Paths, load_config
from settings.reference import COMMAND, ROOT, all_settings, field_docs, leaf_keys, render, section_doc, sections

MAX_KEYS = 35


def shipped() -> dict:
    return yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))


def test_config_yaml_is_short_and_every_key_is_a_commented_setting():
    keys = leaf_keys(shipped())
    assert 0 < len(keys) <= MAX_KEYS, keys
    assert set(keys) <= {s.name for s in all_settings()}
    lines = DEFAULT_CONFIG.read_text(encoding="utf-8").splitlines()
    node = yaml.compose(DEFAULT_CONFIG.read_text(encoding="utf-8"))

    def leaves(mapping: yaml.MappingNode, prefix: str = ""):
        for key, value in mapping.value:
            if isinstance(value, yaml.MappingNode):
                yield from leaves(value, f"{prefix}{key.value}.")
            else:
                yield f"{prefix}{key.value}", key.start_mark.line

    uncommented = [name for name, line in leaves(node) if "#" not in lines[line]]
    assert not uncommented, f"config.yaml: give each key a one-line comment: {uncommented}"


def test_config_yaml_gives_exactly_the_defaults():
    base = DEFAULT_CONFIG.resolve().parent
    defaults = dataclasses.replace(Config(), paths=Paths(photos=base / "photos", assets=base / "assets"),
                                   source=DEFAULT_CONFIG.resolve())
    loaded = load_config(DEFAULT_CONFIG)
    assert loaded == defaults
    assert repr(loaded) == repr(defaults)  # the same types too: 30 in the file is the float 30.0
    assert load_config() == loaded


def test_a_setting_config_yaml_leaves_out_can_be_set_by_name(tmp_path):
    raw = shipped()
    listed = set(leaf_keys(raw))
    assert {"engine.max_faces", "gallery.clean", "telegram.fetch.budget_s", "similarity.prior_std"}.isdisjoint(listed)
    raw.setdefault("engine", {})["max_faces"] = 5
    raw["gallery"] = {"clean": False}
    raw["telegram"]["fetch"] = {"budget_s": 12}
    raw["similarity"] = {"prior_std": 0.05}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    cfg = load_config(path)
    assert cfg.engine.max_faces == 5 and cfg.gallery.clean is False and cfg.similarity.prior_std == 0.05
    assert cfg.telegram.fetch.budget_s == 12.0 and isinstance(cfg.telegram.fetch.budget_s, float)
    expected = load_config(DEFAULT_CONFIG).replace(engine={"max_faces": 5}, gallery={"clean": False},
                                                   telegram={"fetch": {"budget_s": 12.0}},
                                                   similarity={"prior_std": 0.05})
    assert dataclasses.replace(cfg, paths=expected.paths, source=None) == dataclasses.replace(expected, source=None)


def test_relative_paths_are_taken_from_the_config_files_folder(tmp_path):
    (tmp_path / "c.yaml").write_text("paths:\n  photos: in\n")
    cfg = load_config(tmp_path / "c.yaml")
    assert cfg.paths == Paths(photos=tmp_path / "in", assets=tmp_path / "assets")
    assert cfg.source == (tmp_path / "c.yaml").resolve() and cfg.telegram == Config().telegram


@pytest.mark.parametrize("raw, name", [
    ({"engines": {"max_faces": 5}}, "engines"),
    ({"engine": {"max_face": 5}}, "max_face"),
    ({"telegram": {"webhook": {"secret": "x"}}}, "secret"),
    ({"telegram": {"limits": {"per_user": 3}}}, "per_user"),
    ({"source": "elsewhere.yaml"}, "source"),
])
def test_unknown_keys_fail_loudly(tmp_path, raw, name):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ValueError, match="unknown key") as info:
        load_config(path)
    assert name in str(info.value) and "docs/configuration.md" in str(info.value)


def test_wrong_shapes_fail(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("pool:\n  workers: two\n")
    with pytest.raises(ValueError, match="pool.workers: expected a number"):
        load_config(path)
    path.write_text("telegram: [1, 2]\n")
    with pytest.raises(ValueError, match="telegram: expected a mapping"):
        load_config(path)


def test_every_setting_and_section_says_what_it_means():
    undocumented = [s.name for s in all_settings() if not s.doc]
    assert not undocumented, f"settings/sections.py: write a docstring under {undocumented}"
    assert all(section_doc(cls) for _, cls, _ in sections())
    assert "source" not in field_docs(Config) or "not a setting" in field_docs(Config)["source"]
    assert len(all_settings()) == len({s.name for s in all_settings()}) >= 80


def test_configuration_md_is_current():
    committed = ROOT / "docs" / "configuration.md"
    assert committed.exists() and committed.read_text(encoding="utf-8") == render(), \
        f"docs/configuration.md is stale: run `{COMMAND}`"


def test_configuration_md_lists_every_setting_and_marks_config_yamls():
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(" `"): line for line in text.splitlines() if line.startswith("| `")}
    assert set(rows) == {s.name for s in all_settings()}
    assert {name for name, row in rows.items() if row.split("|")[4].strip() == "yes"} == set(leaf_keys(shipped()))


def test_deploy_config_loads(tmp_path):
    cfg = load_config(ROOT / "deploy" / "config.production.yaml")
    assert cfg.telegram.webhook.url.startswith("https://") and cfg.paths.assets.resolve() == (ROOT / "assets").resolve()
    assert isinstance(cfg.paths.photos, Path)
