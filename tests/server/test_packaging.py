"""`pip install .` (not editable) gives a working server with its static files."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    (built,) = out.glob("fallback-*.whl")
    return built


def test_wheel_carries_every_static_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "fallback"
    expected = {
        str(path.relative_to(ROOT))
        for folder in ("static", "templates")
        for path in (package / folder).rglob("*")
        if path.is_file()
    }
    assert expected <= names
    assert "fallback/py.typed" in names
    assert "fallback/testing/sockjs_server.py" in names


def test_installed_copy_serves_sockjs_and_static_files(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    static_files = sorted(p.name for p in (ROOT / "fallback" / "static").glob("*") if p.is_file())
    script = textwrap.dedent(
        f"""
        import asyncio, fallback, urllib.request
        from fallback.server import make_application
        from fallback.testing.sockjs_server import routers
        from tornado.netutil import bind_sockets
        from tornado.httpserver import HTTPServer
        assert fallback.__file__.startswith({str(target)!r}), fallback.__file__

        async def main():
            sockets = bind_sockets(0, "127.0.0.1")
            HTTPServer(make_application(routers())).add_sockets(sockets)
            port = sockets[0].getsockname()[1]
            loop = asyncio.get_running_loop()
            def fetch(path):
                with urllib.request.urlopen(f"http://127.0.0.1:{{port}}{{path}}", timeout=5) as r:
                    return r.status, r.read()
            assert await loop.run_in_executor(None, fetch, "/echo") == (200, b"Welcome to SockJS!\\n")
            for name in {static_files!r}:
                status, body = await loop.run_in_executor(None, fetch, "/static/" + name)
                assert status == 200 and body, name
            print("ok")

        asyncio.run(main())
        """
    )
    env = dict(os.environ, PYTHONPATH=str(target))
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_sdist_is_a_whole_checkout_and_builds_without_a_warning(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--sdist",
            "--no-isolation",
            "--outdir",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    warnings = [
        line for line in (done.stdout + done.stderr).splitlines() if "warning" in line.lower()
    ]
    assert not warnings, warnings
    (sdist,) = tmp_path.glob("fallback-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in (
        "LICENSE",
        "README.md",
        "SECURITY.md",
        "CONTRIBUTING.md",
        "Makefile",
        "tests/conftest.py",
        "deploy/nginx/fallback.conf",
        "demo/app.py",
        "docs/conf.py",
        "fallback/static/fallback.js",
        "fallback/templates/admin.html",
    ):
        assert needed in names, needed
    assert not any("node_modules" in name or "__pycache__" in name for name in names)
