"""The demo gallery and the test photos: real faces the package index ships.

The face_recognition 1.3.0 source distribution carries photos of Barack Obama
and Joe Biden in tests/test_images/. They are fetched once with pip (the only
network the project may use) into .cache/ and verified by hash.

    python -m gallery.demo --out .cache/demo_photos
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import ujson

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
SDIST = "face_recognition-1.3.0.tar.gz"
SDIST_SHA256 = "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec"
IMAGES_IN_SDIST = "face_recognition-1.3.0/tests/test_images/"

# obama2.jpg stays out of the gallery: it is the unseen probe in tests and docs.
DEMO_PEOPLE = {
    "Barack Obama": ["obama.jpg", "obama3.jpg"],
    "Joe Biden": ["biden.jpg"],
}
ATTRIBUTION = {
    "source": "https://pypi.org/project/face-recognition/1.3.0/ (tests/test_images)",
    "author": "face_recognition project (Adam Geitgey)",
    "license": "MIT (as shipped in the face_recognition source distribution)",
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_images(cache: Path = CACHE) -> Path:
    """Folder of the sdist's test images, downloading and extracting them once."""
    target = cache / "test_images"
    if (target / "obama.jpg").is_file() and (target / "biden.jpg").is_file():
        return target
    downloads = cache / "downloads"
    sdist = downloads / SDIST
    if not sdist.is_file() or _sha256(sdist) != SDIST_SHA256:
        downloads.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                        "--no-deps", "--no-binary", ":all:", "-d", str(downloads), "face_recognition==1.3.0"],
                       check=True)
    if _sha256(sdist) != SDIST_SHA256:
        raise RuntimeError(f"{sdist} does not have the expected SHA-256")
    tmp = cache / "test_images.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.startswith(IMAGES_IN_SDIST):
                name = Path(member.name).name
                (tmp / name).write_bytes(tar.extractfile(member).read())
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def build_demo_photos(out: Path, cache: Path = CACHE) -> Path:
    """Lay the demo out as build_embeddings.py expects: out/<Name>/*.jpg + info.json."""
    images = test_images(cache)
    for name, files in DEMO_PEOPLE.items():
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        for file in files:
            shutil.copyfile(images / file, folder / file)
        info = {"name": name, "files": {file: ATTRIBUTION for file in files}}
        (folder / "info.json").write_text(ujson.dumps(info, indent=1, escape_forward_slashes=False))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Lay out the demo gallery photos.")
    parser.add_argument("--out", type=Path, default=CACHE / "demo_photos")
    args = parser.parse_args(argv)
    out = build_demo_photos(args.out)
    print(f"demo photos of {len(DEMO_PEOPLE)} people in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
