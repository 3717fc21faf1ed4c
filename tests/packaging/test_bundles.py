"""Each Lambda bundle is small enough for Lambda and runs with nothing but itself and its layer."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from shopfn.apigw import build_event
from shopfn.build import LAYER_ZIP, is_image_function, write_zip
from shopfn.manifest import FunctionSpec, load_manifest

LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
#: Every bundle keeps this much below Lambda's limit (issue #23), for dependency upgrades.
MARGIN = 10 * 1024 * 1024
#: Tighter budgets: predict must stay lean (ONNX Runtime + numpy, no scikit-learn or pandas);
#: 121 MiB since its unused ONNX Runtime files are dropped, so 19 MiB to grow before failing.
BUDGET_MIB = {"predict": 140}
PROBE = Path(__file__).with_name("health_probe.py")
ZIP_FUNCTIONS = [spec for spec in load_manifest().functions if not is_image_function(spec)]
IMAGE_FUNCTIONS = [spec for spec in load_manifest().functions if is_image_function(spec)]


def _unzip(archive: Path, target: Path) -> Path:
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(target)
    return target


def _unzipped_size(archive: Path) -> int:
    with zipfile.ZipFile(archive) as bundle:
        return sum(info.file_size for info in bundle.infolist())


def test_layer_holds_shop_under_python_and_no_local_only_tools(bundles) -> None:
    layer = bundles["@layer"]
    assert layer.path is not None and layer.path.name == LAYER_ZIP
    with zipfile.ZipFile(layer.path) as archive:
        names = archive.namelist()
    assert "python/shop/__init__.py" in names
    assert "python/shop/migrations/env.py" in names
    assert not any(name.startswith("python/bin/") for name in names)
    assert any(name.startswith("python/sqlalchemy/") for name in names)
    assert any(name.startswith("python/pydantic_core/_pydantic_core.cpython-") for name in names)
    assert not any(name.startswith("python/uvicorn") for name in names)
    # The runtime's AWS SDK is used: the health probe below proves nothing needs ours.
    assert not any(name.startswith(("python/boto3/", "python/botocore/")) for name in names)
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)


def test_same_files_give_the_same_zip_whatever_their_timestamps(bundles, tmp_path) -> None:
    """CDK hashes assets: an unchanged bundle must not trigger a new deployment."""
    content = _unzip(bundles[ZIP_FUNCTIONS[0].name].path, tmp_path / "content")
    first = write_zip(content, tmp_path / "first.zip")
    for path in list(content.rglob("*.py"))[:50]:
        os.utime(path, (1_700_000_000, 1_700_000_000))
    second = write_zip(content, tmp_path / "second.zip")
    assert first == second


@pytest.mark.parametrize("spec", ZIP_FUNCTIONS, ids=lambda spec: spec.name)
def test_function_with_its_layer_stays_under_lambdas_unzipped_limit(
    spec: FunctionSpec, bundles
) -> None:
    function, layer = bundles[spec.name], bundles["@layer"]
    total = _unzipped_size(function.path) + _unzipped_size(layer.path)
    print(f"\n{spec.name}: {total / 2**20:.1f} MiB unzipped with the layer")
    assert total < LAMBDA_UNZIPPED_LIMIT - MARGIN
    assert total < BUDGET_MIB.get(spec.name, 250) * 1024 * 1024
    with zipfile.ZipFile(function.path) as archive:
        names = archive.namelist()
    assert f"{spec.name}/__init__.py" in names
    assert not any(name.startswith("shop/") for name in names), "shop ships in the layer only"
    with zipfile.ZipFile(layer.path) as archive:
        in_layer = {name.split("/")[1] for name in archive.namelist() if name.count("/") > 1}
    duplicated = {name.split("/")[0] for name in names if "/" in name} & in_layer
    assert not duplicated, f"already in the layer: {sorted(duplicated)}"


@pytest.mark.parametrize("spec", ZIP_FUNCTIONS, ids=lambda spec: spec.name)
def test_bundle_answers_health_with_only_itself_and_its_layer_on_sys_path(
    spec: FunctionSpec, bundles, layer_site, runtime, tmp_path
) -> None:
    function_dir = _unzip(bundles[spec.name].path, tmp_path / "task")
    layer_dir = layer_site
    event = build_event(spec, "GET", f"{spec.prefix.rstrip('/')}/health")
    env = {
        "DATA_DIR": str(tmp_path / "data"),  # SQLite: the probe needs no database server
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "HOME": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [runtime.python, "-I", "-S", str(PROBE), str(function_dir), str(layer_dir), spec.handler],
        input=json.dumps(event),
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["foreign_modules"] == []
    assert not any("site-packages" in path for path in report["sys_path"])
    response = report["response"]
    assert response["statusCode"] == 200, response
    body = json.loads(response["body"])
    assert body["status"] == "ok" and body["service"] == spec.name and body["database"] == "ok"


def test_image_functions_build_from_a_lambda_base_image_and_ship_no_zip(bundles) -> None:
    for spec in IMAGE_FUNCTIONS:
        dockerfile = (spec.path / "Dockerfile").read_text()
        assert "public.ecr.aws/lambda/python:3.12" in dockerfile
        assert spec.handler in dockerfile
        assert bundles[spec.name].kind == "image"
        assert not (bundles["@layer"].path.parent / "functions" / f"{spec.name}.zip").exists()


def test_removing_a_distribution_never_deletes_files_outside_the_bundle(tmp_path) -> None:
    from shopfn.build import distributions, remove_distributions

    site = tmp_path / "site"
    (site / "pkg").mkdir(parents=True)
    (site / "pkg" / "mod.py").write_text("x = 1\n")
    info = site / "pkg-1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text("pkg/mod.py,,\n../outside.txt,,\npkg-1.0.dist-info/RECORD,,\n")
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n")

    assert set(distributions(site)) == {"pkg"}
    remove_distributions(site, ["pkg"])

    assert outside.read_text() == "keep me\n"
    assert list(site.iterdir()) == []


ONNX_PROBE = """
import json, sys
sys.path[:] = [sys.argv[1], sys.argv[2], *[p for p in sys.path if p]]
import numpy as np
import onnxruntime
session = onnxruntime.InferenceSession(sys.argv[3], providers=["CPUExecutionProvider"])
row = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
(out,) = session.run(None, {"input": row})
print(json.dumps({"output": out.tolist(), "onnxruntime": onnxruntime.__file__}))
"""


def test_predict_bundle_runs_an_onnx_model_without_the_files_it_drops(
    bundles, layer_site, runtime, tmp_path
) -> None:
    """The manifest's `drop` list (ONNX Runtime's C API library and model tools) and `exclude`
    list (protobuf, flatbuffers) leave a bundle whose ONNX Runtime still scores a model."""
    import onnx
    from onnx import TensorProto, helper

    from shopfn.build import dropped_paths

    function_dir = _unzip(bundles["predict"].path, tmp_path / "task")
    for pattern in dropped_paths("predict"):
        assert not list(function_dir.glob(pattern)), pattern
    assert not (function_dir / "google").exists() and not (function_dir / "flatbuffers").exists()

    weights = helper.make_tensor("w", TensorProto.FLOAT, [3, 1], [0.5, 0.25, 1.0])
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["input", "w"], ["output"])],
        "probe",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [None, 1])],
        [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "probe.onnx"
    onnx.save(model, path)
    command = [runtime.python, "-I", "-S", "-c", ONNX_PROBE, str(function_dir), str(layer_site)]
    result = subprocess.run(
        [*command, str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["output"] == [[4.0]]  # 0.5 + 0.5 + 3.0
    assert report["onnxruntime"].startswith(str(function_dir))


def test_a_drop_pattern_that_matches_nothing_fails_the_build(tmp_path) -> None:
    from shopfn.build import drop_unused_files

    (tmp_path / "pkg" / "tools").mkdir(parents=True)
    (tmp_path / "pkg" / "tools" / "big.py").write_text("x = 1\n")
    (tmp_path / "keep.py").write_text("y = 2\n")
    drop_unused_files(tmp_path, ["pkg/tools"])
    assert not (tmp_path / "pkg" / "tools").exists() and (tmp_path / "keep.py").exists()
    with pytest.raises(ValueError, match="matches nothing"):
        drop_unused_files(tmp_path, ["pkg/tools"])
