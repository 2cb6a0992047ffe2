"""zoo.files: directory locks across processes, path checks, strict JSON."""

import json
import os
import subprocess

import pytest
from conftest import LockRefused, lock_held_elsewhere

from zoo.errors import ZooError
from zoo.files import LOCK_NAME, check_writable_dir, directory_lock, finite_json, write_json


def test_a_second_process_gets_one_line_and_the_lock_is_free_after_exit(tmp_path):
    with lock_held_elsewhere(tmp_path / "run"):
        with pytest.raises(ZooError, match=r"run is in use by another zoo process \(pid \d+: ") as err:
            with directory_lock(tmp_path / "run"):
                pass
        assert "\n" not in str(err.value)
        # Waiting gives up after the wait, too.
        with pytest.raises(ZooError, match="in use"):
            with directory_lock(tmp_path / "run", wait_s=0.5):
                pass
    with directory_lock(tmp_path / "run"):  # released when the holder exited
        pass


def test_a_killed_holder_leaves_a_stale_lock_file_that_blocks_nobody(tmp_path):
    with lock_held_elsewhere(tmp_path / "run") as holder:
        holder.kill()
        holder.wait(timeout=60)
    assert "pid" in (tmp_path / "run" / LOCK_NAME).read_text()  # the file stays behind
    with directory_lock(tmp_path / "run"):
        assert str(os.getpid()) in (tmp_path / "run" / LOCK_NAME).read_text()


def test_the_same_process_may_take_its_lock_again(tmp_path):
    with directory_lock(tmp_path / "run"):
        with directory_lock(tmp_path / "run"):  # e.g. the recipe exporting its own run
            pass
        # Still held after the inner release: another process is refused.
        with pytest.raises(LockRefused):
            with lock_held_elsewhere(tmp_path / "run"):
                pass


def test_paths_are_checked_before_any_work_and_nothing_is_created(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ZooError, match=r"--out .*afile: exists and is not a directory"):
        check_writable_dir(afile, "--out")
    with pytest.raises(ZooError, match=r"afile is not a directory"):
        check_writable_dir(afile / "run", "--out")
    # /proc refuses new files even for root, who ignores chmod: a read-only directory.
    with pytest.raises(ZooError, match=r"--out /proc/zoo-run: cannot write to /proc"):
        check_writable_dir("/proc/zoo-run", "--out")
    assert check_writable_dir(tmp_path / "a" / "b", "--out") == tmp_path / "a" / "b"
    assert not (tmp_path / "a").exists() and sorted(os.listdir(tmp_path)) == ["afile"]


def test_metrics_json_is_strict_with_non_finite_values_as_null_and_flagged(tmp_path):
    data = {"psnr": 15.9, "loss": float("inf"), "nested": {"fid": float("nan"), "ok": [1.0, -float("inf")]}}
    cleaned, replaced = finite_json(data)
    assert replaced == ["loss", "nested.fid", "nested.ok[1]"]
    assert cleaned == {"psnr": 15.9, "loss": None, "nested": {"fid": None, "ok": [1.0, None]}}
    path = write_json(tmp_path / "metrics.json", data)
    text = path.read_text()
    assert "Infinity" not in text and "NaN" not in text
    parsed = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert parsed["nonfinite"] == replaced and parsed["psnr"] == 15.9
    assert write_json(tmp_path / "ok.json", {"a": 1.0}).read_text() == '{\n  "a": 1.0\n}\n'
    assert sorted(os.listdir(tmp_path)) == ["metrics.json", "ok.json"]  # no temporary files left


@pytest.fixture
def read_only_mount(tmp_path):
    """A read-only tmpfs (root ignores chmod, not a read-only mount); skipped where this
    process may not mount (not root, or in a container without the capability)."""
    target = tmp_path / "ro"
    target.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(target)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(
            f"cannot mount a read-only tmpfs here ({proc.stderr.strip()[:80]}); /proc's case still runs"
        )
    yield target
    subprocess.run(["umount", str(target)], check=True)


def test_a_read_only_file_system_is_one_line(read_only_mount):
    with pytest.raises(ZooError, match=r"^--out .*ro/run: cannot write to .*ro \(Read-only file system\)$"):
        check_writable_dir(read_only_mount / "run", "--out")
    with pytest.raises(ZooError, match="Read-only file system"):
        with directory_lock(read_only_mount / "run"):
            pass
