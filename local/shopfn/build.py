"""`shopfn build`: the Lambda artifacts in build/, from Linux wheels and without Docker.

- `build/layer-shop.zip`: the shared layer, `python/shop/...` plus the runtime dependencies of
  `shop` at the versions in uv.lock (local-only tools such as uvicorn pruned).
- `build/functions/<name>.zip`: one per zip-packaged function of the manifest, its folder as a
  package at the zip root plus its own requirements (minus what the layer already ships).
- A function whose folder holds a `Dockerfile` ships as a container image instead (its
  dependencies exceed Lambda's 250 MB zip limit): CDK builds that image at deploy time.

Wheels come from the package index for the Lambda runtime's platform (manylinux x86_64 or
aarch64, CPython 3.12), so the build works from any Linux or macOS laptop.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from shopfn.manifest import FunctionSpec, load_manifest, project_root
from shopfn.progress import progress_bar

#: Dependencies of the `shop` package that only the laptop needs (the ASGI server of `serve`).
LOCAL_ONLY = ("uvicorn",)
#: The AWS SDK the python3.12 Lambda runtime already ships: left out of the layer (30+ MB,
#: the difference between a lean predict bundle and a heavy one) unless `bundle_aws_sdk`.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
#: manylinux tags the python3.12 runtime (Amazon Linux 2023, glibc 2.34) can load.
PLATFORMS = {"x86_64": "x86_64-manylinux_2_28", "arm64": "aarch64-manylinux_2_28"}
LAYER_ZIP = "layer-shop.zip"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: same inputs, same zip, same asset hash
SKIPPED_PARTS = {"__pycache__", "tests", ".pytest_cache"}
#: Never loaded at run time: bytecode (rebuilt per runtime), type stubs, C sources and headers.
SKIPPED_SUFFIXES = {".pyc", ".pyo", ".pyi", ".h", ".hpp", ".c", ".cpp", ".pxd", ".pyx"}


@dataclass(frozen=True)
class BuildOptions:
    out: Path = field(default_factory=lambda: project_root() / "build")
    python_version: str = "3.12"
    architecture: str = "x86_64"
    functions: tuple[str, ...] = ()  # empty: every function of the manifest
    bundle_aws_sdk: bool = False  # ship uv.lock's boto3 instead of the runtime's
    strip: bool = True  # strip debug symbols from shared libraries (needs binutils' `strip`)


@dataclass(frozen=True)
class Bundle:
    """One built artifact and what it weighs once Lambda unzips it."""

    name: str
    kind: str  # "layer", "zip" or "image"
    path: Path | None
    unzipped_bytes: int = 0
    zipped_bytes: int = 0
    sha256: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "path": str(self.path) if self.path else None,
            "unzipped_bytes": self.unzipped_bytes,
            "zipped_bytes": self.zipped_bytes,
            "sha256": self.sha256,
        }


def uv_executable() -> str:
    """The uv binary: $UV, on PATH, or the one the Makefile installs under .tools/."""
    candidates = [os.environ.get("UV"), shutil.which("uv"), project_root() / ".tools/bin/uv"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return str(candidate)
    raise RuntimeError("uv not found: run `make install` (it installs uv under .tools/)")


def locked_requirements(*, groups: Iterable[str] = (), prune: Iterable[str] = ()) -> str:
    """Pinned requirements (requirements.txt) from uv.lock: the project's dependencies
    plus `groups`, without `prune` and whatever only they pulled in."""
    command = [
        uv_executable(),
        "export",
        "--frozen",
        "--no-default-groups",
        "--no-emit-project",
        "--no-hashes",
        "--no-header",
        "--project",
        str(project_root()),
    ]
    for group in groups:
        command += ["--group", group]
    for name in prune:
        command += ["--prune", name]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout  # noqa: S603


def _all_dependency_groups() -> list[str]:
    pyproject = tomllib.loads((project_root() / "pyproject.toml").read_text())
    return list(pyproject.get("dependency-groups", {}))


def install_wheels(
    target: Path,
    requirements: list[str],
    options: BuildOptions,
    *,
    constraints: str | None = None,
    resolve: bool = True,
) -> None:
    """Install `requirements` into `target` from wheels for the Lambda platform."""
    if not requirements:
        return
    with tempfile.TemporaryDirectory() as tmp:
        req_file = Path(tmp) / "requirements.txt"
        req_file.write_text("\n".join(requirements) + "\n")
        command = [
            uv_executable(),
            "pip",
            "install",
            "--quiet",
            "--target",
            str(target),
            "--python-platform",
            PLATFORMS[options.architecture],
            "--python-version",
            options.python_version,
            "--only-binary",
            ":all:",
            "-r",
            str(req_file),
        ]
        if not resolve:
            command.append("--no-deps")
        if constraints:
            constraint_file = Path(tmp) / "constraints.txt"
            constraint_file.write_text(constraints)
            command += ["--constraint", str(constraint_file)]
        subprocess.run(command, check=True)  # noqa: S603 - our own argument list


def normalize(name: str) -> str:
    """A distribution name in PEP 503 form (`Typing_Extensions` -> `typing-extensions`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def distributions(site: Path) -> dict[str, list[Path]]:
    """Installed distributions in `site`: normalized name -> the files its RECORD lists."""
    found: dict[str, list[Path]] = {}
    for info in site.glob("*.dist-info"):
        name = normalize(info.name.removesuffix(".dist-info").rsplit("-", 1)[0])
        record = info / "RECORD"
        files = [info]
        if record.exists():
            root = site.resolve()
            for line in record.read_text().splitlines():
                relative = line.split(",", 1)[0]
                path = (site / relative).resolve()
                # RECORD may name scripts outside the target (../../bin/...): never touch those.
                if relative and path.is_relative_to(root):
                    files.append(path)
        found[name] = files
    return found


def remove_distributions(site: Path, names: Iterable[str]) -> None:
    """Delete the given distributions (and their now-empty folders) from `site`."""
    installed = distributions(site)
    for name in names:
        for path in installed.get(name, []):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif path.exists():
                path.unlink()
    for folder in sorted(site.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def strip_shared_libraries(site: Path) -> None:
    """Drop debug symbols from ELF libraries (what `pip`'s wheels often keep); no-op without
    binutils. Only symbols no loader needs go (`--strip-unneeded`). Libraries vendored by
    auditwheel (`<pkg>.libs/`) were rewritten by patchelf and break when stripped: skipped."""
    strip = shutil.which("strip")
    if strip is None or os.uname().sysname != "Linux":
        return
    for library in sorted(site.rglob("*.so*")):
        vendored = any(part.endswith(".libs") for part in library.relative_to(site).parts)
        if library.is_file() and not vendored and library.read_bytes()[:4] == b"\x7fELF":
            # Into a new file, then swapped in: installed files may be hard links into uv's
            # cache, which must never change.
            stripped = library.with_name(library.name + ".stripped")
            done = subprocess.run(  # noqa: S603
                [strip, "--strip-unneeded", "-o", str(stripped), str(library)], check=False
            )
            if done.returncode == 0:
                stripped.chmod(library.stat().st_mode)
                os.replace(stripped, library)
            else:
                stripped.unlink(missing_ok=True)


def copy_package(source: Path, destination: Path) -> None:
    """Copy a source package without caches, tests or container files."""

    def ignore(_folder: str, names: list[str]) -> set[str]:
        return {
            name
            for name in names
            if name in SKIPPED_PARTS
            or Path(name).suffix in SKIPPED_SUFFIXES
            or name == "Dockerfile"
        }

    shutil.copytree(source, destination, ignore=ignore)


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        parts = set(path.relative_to(root).parts)
        if path.is_file() and not parts & SKIPPED_PARTS and path.suffix not in SKIPPED_SUFFIXES:
            yield path


def write_zip(root: Path, archive: Path) -> tuple[int, int, str]:
    """Zip `root`'s content reproducibly; (unzipped bytes, zipped bytes, sha256)."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    unzipped = 0
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as bundle:
        for path in _files(root):
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=ZIP_EPOCH)
            executable = path.stat().st_mode & stat.S_IXUSR
            info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            unzipped += len(data)
            bundle.writestr(info, data)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    return unzipped, archive.stat().st_size, digest


def is_image_function(spec: FunctionSpec) -> bool:
    """A function with a Dockerfile in its folder ships as a Lambda container image."""
    return (spec.path / "Dockerfile").exists()


def build_layer(options: BuildOptions, staging: Path) -> Bundle:
    """The shared layer: `python/shop` and its locked runtime dependencies."""
    site = staging / "layer" / "python"
    site.mkdir(parents=True)
    prune = LOCAL_ONLY if options.bundle_aws_sdk else LOCAL_ONLY + RUNTIME_PROVIDED
    pinned = locked_requirements(prune=prune)
    install_wheels(site, _requirement_lines(pinned), options, resolve=False)
    shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts: useless in a layer
    if options.strip:
        strip_shared_libraries(site)
    copy_package(project_root() / "layers" / "shop", site / "shop")
    archive = options.out / LAYER_ZIP
    unzipped, zipped, digest = write_zip(staging / "layer", archive)
    return Bundle("shop", "layer", archive, unzipped, zipped, digest)


def build_function(
    spec: FunctionSpec, options: BuildOptions, staging: Path, layer_site: set[str]
) -> Bundle:
    """One function's zip: its package plus its own requirements not already in the layer."""
    if is_image_function(spec):
        return Bundle(spec.name, "image", spec.path / "Dockerfile")
    root = staging / "functions" / spec.name
    root.mkdir(parents=True)
    copy_package(spec.path, root / spec.name)
    if spec.requirements:
        constraints = locked_requirements(groups=_all_dependency_groups())
        install_wheels(root, list(spec.requirements), options, constraints=constraints)
        remove_distributions(root, layer_site & set(distributions(root)))
        if not options.bundle_aws_sdk:
            remove_distributions(root, RUNTIME_PROVIDED)
        shutil.rmtree(root / "bin", ignore_errors=True)
        if options.strip:
            strip_shared_libraries(root)
        for name in excluded_requirements(spec.name):
            remove_distributions(root, [name])
        drop_unused_files(root, dropped_paths(spec.name))
    archive = options.out / "functions" / f"{spec.name}.zip"
    unzipped, zipped, digest = write_zip(root, archive)
    return Bundle(spec.name, "zip", archive, unzipped, zipped, digest)


def _manifest_list(function: str, key: str) -> list[str]:
    data = tomllib.loads((project_root() / "functions" / "manifest.toml").read_text())
    raw = data.get("functions", {}).get(function, {})
    return [str(item) for item in raw.get(key, [])]


def excluded_requirements(function: str) -> list[str]:
    """The manifest's `exclude` list for a function: transitive dependencies it never imports."""
    return [normalize(name) for name in _manifest_list(function, "exclude")]


def dropped_paths(function: str) -> list[str]:
    """The manifest's `drop` list for a function: glob patterns, relative to the bundle's root,
    of files inside its dependencies that it never loads (tools, a second copy of a library)."""
    return _manifest_list(function, "drop")


def drop_unused_files(root: Path, patterns: Iterable[str]) -> None:
    """Delete what each pattern matches under `root`, and nothing outside it.

    A pattern that matches nothing fails the build: a new wheel that moved the file would
    otherwise quietly bring back its weight.
    """
    base = root.resolve()
    for pattern in patterns:
        matches = [path for path in root.glob(pattern) if path.resolve().is_relative_to(base)]
        if not matches:
            raise ValueError(f"manifest `drop` pattern {pattern!r} matches nothing in {root}")
        for path in matches:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def _requirement_lines(text: str) -> list[str]:
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "-"))
    ]


def build(options: BuildOptions | None = None) -> list[Bundle]:
    """Build the layer and the selected functions into `options.out`; write its index."""
    options = options or BuildOptions()
    manifest = load_manifest()
    specs = [spec for spec in manifest.functions if not options.functions]
    specs += [manifest.get(name) for name in options.functions]
    if not options.functions:  # a full build drops zips of functions no longer listed
        shutil.rmtree(options.out / "functions", ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="shopfn-build-") as tmp:
        staging = Path(tmp)
        with progress_bar(1 + len(specs), "building bundles", unit="bundle") as bar:
            bundles = [build_layer(options, staging)]
            bar.update()
            layer_site = set(distributions(staging / "layer" / "python"))
            for spec in specs:
                bundles.append(build_function(spec, options, staging, layer_site))
                bar.update()
    index = {
        "python_version": options.python_version,
        "architecture": options.architecture,
        "bundles": [bundle.as_dict() for bundle in bundles],
    }
    (options.out / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    return bundles
