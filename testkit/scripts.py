"""Running the project's own entry points in tests: a config with some settings changed, a
script run as a user would, a folder of real photos with every outcome a build meets."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from PIL import Image

from settings import DEFAULT_CONFIG
from testkit.images import jpeg

ROOT = Path(__file__).resolve().parent.parent


def write_config(path: Path, **overrides: dict) -> Path:
    """A copy of config.yaml with some sections changed; paths may be absolute."""
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text())
    for section, values in overrides.items():
        raw.setdefault(section, {}).update({k: str(v) if isinstance(v, Path) else v for k, v in values.items()})
    path.write_text(yaml.safe_dump(raw))
    return path


def run_script(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run one of the entry points as a user would, from the repository root."""
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def photo_folder(out: Path, images: Path, count: int) -> list[Path]:
    """``count`` distinct real photos (resized copies of the test faces) in two person folders,
    plus a photo without a face and a broken file: every outcome the build meets."""
    sources = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"]
    paths = []
    for i in range(count):
        name = sources[i % len(sources)]
        folder = out / ("Joe Biden" if name.startswith("biden") else "Barack Obama")
        folder.mkdir(parents=True, exist_ok=True)
        im = Image.open(images / name)
        width = 320 + 8 * i  # small and all different: fast to embed, distinct content hashes
        path = folder / f"{i:03d}-{name}"
        path.write_bytes(jpeg(im.resize((width, round(im.height * width / im.width)))))
        paths.append(path)
    (out / "Nobody").mkdir(exist_ok=True)
    (out / "Nobody" / "wall.jpg").write_bytes(jpeg(Image.new("RGB", (400, 300), "beige")))
    (out / "Nobody" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return paths + [out / "Nobody" / "wall.jpg", out / "Nobody" / "broken.jpg"]
