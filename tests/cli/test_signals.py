"""SIGINT and SIGTERM: a cancelled run exits 130 or 143 with one line, no report, no
traceback, and leaves no file half-written (gate/cli/app.py, gate/atomic.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gate import atomic
from tests.support.images import push_image
from tests.support.paths import ROOT
from tests.support.registry import RegistryServer


@pytest.fixture
def silent_registry() -> Iterator[tuple[str, threading.Event]]:
    """A TCP server on 127.0.0.1 that accepts and never answers: the gate waits on it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    connected = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            connected.set()

    threading.Thread(target=accept, daemon=True).start()
    yield f"127.0.0.1:{server.getsockname()[1]}", connected
    server.close()
    for conn in held:
        conn.close()


@pytest.mark.parametrize(
    ("signum", "code", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_a_signal_during_check_exits_with_its_code(
    tmp_path: Path, silent_registry: tuple[str, threading.Event], signum: int, code: int, name: str
) -> None:
    host, connected = silent_registry
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        f"  containers: [{{name: a, image: '{host}/app:1.0'}}]\n"
    )
    report = tmp_path / "report.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gate",
            "check",
            "--timeout",
            "60",
            "--retries",
            "0",
            "--report",
            f"json={report}",
            str(manifest),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PULLGATE_NO_PROGRESS": "1"},
    )
    try:
        assert connected.wait(30), "the gate never reached the registry"
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == code, err
    assert out == ""
    assert err.strip().splitlines() == [
        f"pullgate: interrupted by {name} before the end; no report (exit {code})"
    ]
    assert not report.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pod.yaml"]


def test_a_signal_while_staging_leaves_every_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interrupt while files are being staged: no file changed, no staged file left (SIGTERM
    once left 644 temporary files: it killed the process without running any cleanup)."""
    files = _old_files(tmp_path, 50)
    real_stage = atomic._stage
    calls = []

    def stage(target: str, data: bytes, token: str) -> str:
        calls.append(target)
        if len(calls) == 20:
            real_stage(target, data, token)  # created, then interrupted before it is recorded
            raise KeyboardInterrupt
        return real_stage(target, data, token)

    monkeypatch.setattr(atomic, "_stage", stage)
    with pytest.raises(KeyboardInterrupt):
        atomic.write_files(files)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(Path(p).name for p in files)
    assert {Path(p).read_text() for p in files} == {"old\n"}


def _old_files(tmp_path: Path, count: int) -> dict[str, str]:
    """`count` files that say "old", with the new text each is to get."""
    files = {str(tmp_path / f"m{i}.yaml"): f"new {i}\n" for i in range(count)}
    for path in files:
        Path(path).write_text("old\n")
    return files


def _on_third_rename(monkeypatch: pytest.MonkeyPatch, act: Callable[[str], None]) -> list[int]:
    """`os.replace`, with `act(target)` run before the third rename; the renames counted."""
    real_replace = os.replace
    count = [0]

    def replace(src: str, dst: str) -> None:
        count[0] += 1
        if count[0] == 3:
            act(dst)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    return count


def test_a_signal_during_the_renames_waits_until_every_file_is_renamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGINT during the renames once left 6 of 3000 files pinned: the signals are held while
    the renames run, then delivered."""
    files = _old_files(tmp_path, 200)
    # the signal arrives mid-way, and is held until the end
    count = _on_third_rename(monkeypatch, lambda _: os.kill(os.getpid(), signal.SIGINT))
    with pytest.raises(KeyboardInterrupt):
        atomic.write_files(files)
    assert count[0] == 200
    assert all(Path(p).read_text() == text for p, text in files.items())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(Path(p).name for p in files)


@pytest.mark.parametrize(
    ("signum", "code", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_a_signal_during_pin_write_leaves_all_files_pinned_or_none(
    tmp_path: Path, registry: RegistryServer, signum: int, code: int, name: str
) -> None:
    """A few thousand files, signalled while pin stages them: afterwards every file is
    either all pinned or all as it was, and no staged file is left."""
    pushed = push_image(registry, "signals/app", "1.0")
    manifests = tmp_path / "m"
    manifests.mkdir()
    original = (
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nspec:\n"
        f"  containers: [{{{{name: a, image: '{registry.host}/signals/app:1.0'}}}}]\n"
    )
    for i in range(2500):
        (manifests / f"p{i:04}.yaml").write_text(original.format(i=i))
    proc = subprocess.Popen(
        [sys.executable, "-m", "gate", "pin", "--write", str(manifests)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PULLGATE_NO_PROGRESS": "1"},
    )
    sent = False
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if any(p.name.endswith(".pullgate") for p in manifests.iterdir()):
                proc.send_signal(signum)  # staging has begun
                sent = True
                break
            time.sleep(0.005)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    names = sorted(p.name for p in manifests.iterdir())
    assert names == [f"p{i:04}.yaml" for i in range(2500)], "a staged file was left behind"
    pinned = [f"@{pushed.digest}" in (manifests / name).read_text() for name in names]
    assert all(pinned) or not any(pinned), f"{sum(pinned)} of {len(pinned)} files pinned"
    assert sent, "the pin finished before staging was seen"
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1].startswith(f"pullgate: interrupted by {name}")
    assert "Traceback" not in err and out == ""


def test_a_failed_rename_says_which_files_were_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _old_files(tmp_path, 5)

    def refuse(target: str) -> None:
        raise PermissionError(13, "Permission denied", target)

    _on_third_rename(monkeypatch, refuse)
    with pytest.raises(atomic.PartialWrite) as raised:
        atomic.write_files(files)
    first_two = [os.path.realpath(p) for p in list(files)[:2]]
    assert raised.value.replaced == tuple(first_two)
    assert "files already replaced: " + ", ".join(first_two) in str(raised.value)
    assert not any(p.name.endswith(".pullgate") for p in tmp_path.iterdir())
