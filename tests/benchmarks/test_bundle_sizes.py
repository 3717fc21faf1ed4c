"""Each Lambda bundle's unzipped size with its layer, and its cold import time in isolation
as a ratio to `import fastapi` in the same isolated interpreter (measured in one run)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "packaging"))

from lambda_runtime import lambda_python  # noqa: E402

from shopfn.build import BuildOptions, build, is_image_function  # noqa: E402
from shopfn.manifest import load_manifest  # noqa: E402

LIMIT_MB = 250
MARGIN_MB = 10  # kept below Lambda's limit by every bundle (issue #23)
PREDICT_TARGET_MB = 140
RUNS = 5
IMPORT_PROBE = (
    "import sys, time; sys.path[:0] = sys.argv[1:3]; t = time.perf_counter(); "
    "__import__(sys.argv[3]); print(time.perf_counter() - t)"
)


def _unzip(archive: Path, target: Path) -> int:
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(target)
        return sum(info.file_size for info in bundle.infolist())


def _cold_import(python: str, bundle: Path, layer: Path, module: str) -> float:
    """Median seconds to import `module` in a fresh isolated interpreter (bytecode cached)."""
    samples = []
    for _ in range(RUNS + 1):  # the first run writes __pycache__, as Lambda's would be warm
        out = subprocess.run(
            [python, "-I", "-S", "-c", IMPORT_PROBE, str(bundle), str(layer), module],
            capture_output=True,
            text=True,
            check=True,
            env={"POWERTOOLS_TRACE_DISABLED": "true", "DATA_DIR": str(bundle / ".data")},
        )
        samples.append(float(out.stdout.strip()))
    return statistics.median(samples[1:])


def test_bundle_sizes_and_cold_imports(tmp_path, bench_report) -> None:
    runtime = lambda_python()
    bundles = build(BuildOptions(out=tmp_path / "build", python_version=runtime.version))
    layer = next(b for b in bundles if b.kind == "layer")
    layer_dir = tmp_path / "opt"
    layer_bytes = _unzip(layer.path, layer_dir)
    site = layer_dir / "python"
    baseline = _cold_import(runtime.python, site, site, "fastapi")
    section = bench_report(f"Lambda bundles (python {runtime.version}, unzipped with the layer)")
    section.add("import fastapi (baseline, layer only)", baseline, ratio=1.0)
    section.notes.append(f"layer-shop.zip unzipped: {layer_bytes / 2**20:.1f} MiB")
    failures = []
    for spec in load_manifest().functions:
        if is_image_function(spec):
            section.notes.append(f"{spec.name}: container image (functions/{spec.name}/Dockerfile)")
            continue
        bundle = next(b for b in bundles if b.name == spec.name)
        target = tmp_path / "task" / spec.name
        total_mb = (_unzip(bundle.path, target) + layer_bytes) / 2**20
        seconds = _cold_import(runtime.python, target, site, spec.handler.rpartition(".")[0])
        limit = PREDICT_TARGET_MB if spec.name == "predict" else LIMIT_MB - MARGIN_MB
        section.add(
            f"{spec.name}: {total_mb:6.1f} MiB, import handler",
            seconds,
            ratio=seconds / baseline,
            target=f"< {limit} MiB",
        )
        if total_mb >= limit:
            failures.append(f"{spec.name}: {total_mb:.1f} MiB")
    assert not failures, failures
