

def test_stale_spill_folders_of_dead_processes_are_removed(tmp_path, monkeypatch):
    """A kernel that was stopped leaves DuckDB's spill folder behind: the next connection removes it, never the
    folder of a live process."""
    import os
    import subprocess
    import sys

    from portfolio_helpers.core import backend

    monkeypatch.setattr(backend.tempfile, "gettempdir", lambda: str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = tmp_path / f"portfolio-duckdb-{int(gone.stdout)}"
    alive = tmp_path / f"portfolio-duckdb-{os.getppid()}"
    for folder in (dead, alive):
        folder.mkdir()
        (folder / "duckdb_temp_1_0_owner").write_text("")
    backend._remove_stale_spill_folders()
    assert not dead.exists() and alive.exists()
