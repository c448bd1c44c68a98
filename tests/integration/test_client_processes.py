"""The Python client across processes: forked children, and a process ending while the store is down.

Each scenario runs in real subprocesses (os.fork, multiprocessing's fork context, interpreter
exit) against the test's database; the database then holds every event exactly once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from platform_events.config import Settings
from platform_events.db import Conn

REPO = Path(__file__).resolve().parents[2]


def _run(script: str, *, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=REPO,
        timeout=timeout,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO / "functions"), "PATH": "/usr/bin:/bin"},
    )


def _stored_by_who(conn: Conn) -> dict[str, int]:
    rows = conn.execute(
        "SELECT metadata->>'who' AS who, count(*) AS n, count(DISTINCT event_id) AS ids "
        "FROM platform_events GROUP BY 1"
    ).fetchall()
    assert all(r["n"] == r["ids"] for r in rows)
    return {str(r["who"]): int(r["n"]) for r in rows}


def test_a_client_created_before_fork_delivers_from_children_and_parent_once_each(
    settings: Settings, conn: Conn, tmp_path: Path
) -> None:
    done = _run(
        f"""
        import json, multiprocessing, os, sys
        from platform_events.client import Analytics
        from platform_events.config import load_settings
        settings = load_settings(database_url={settings.database_url!r},
                                 platform_events_home={str(tmp_path)!r})
        analytics = Analytics(settings, batch_size=7, flush_interval=0.05, debounce={{}})

        def emit(who, n):
            for i in range(n):
                analytics.emit_event("user.logout", {{"reason": "user"}}, metadata={{"who": who}})

        emit("parent-before", 5)
        assert analytics.flush(timeout=20)  # the parent's connection is open and used
        children = []
        for k in range(3):
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                emit(f"fork-{{k}}", 20)
                os._exit(0 if analytics.flush(timeout=20) else 3)
            children.append(pid)

        def in_process(k):
            emit(f"mp-{{k}}", 20)  # no flush: multiprocessing's exit must deliver them

        ctx = multiprocessing.get_context("fork")
        processes = [ctx.Process(target=in_process, args=(k,)) for k in range(2)]
        for p in processes:
            p.start()
        emit("parent-after", 5)
        codes = [os.waitpid(pid, 0)[1] for pid in children]
        for p in processes:
            p.join(60)
        analytics.close()
        print(json.dumps({{"forks": codes, "mp": [p.exitcode for p in processes],
                          "stats": analytics.stats.__dict__}}))
        """
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["forks"] == [0, 0, 0] and report["mp"] == [0, 0]
    assert report["stats"]["failed"] == 0 and report["stats"]["duplicate"] == 0
    stored = _stored_by_who(conn)
    expected = {"parent-before": 5, "parent-after": 5}
    expected |= {f"fork-{k}": 20 for k in range(3)} | {f"mp-{k}": 20 for k in range(2)}
    assert stored == expected
    assert "not delivered" not in done.stderr


def test_events_accepted_while_the_store_is_down_are_sent_by_the_next_process_once(
    settings: Settings, conn: Conn, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    down = f"postgresql://nobody@/postgres?host={tmp_path / 'no-server'}&connect_timeout=2"
    exited = _run(
        f"""
        import json
        from platform_events.client import Analytics, RetryPolicy
        from platform_events.config import load_settings
        settings = load_settings(database_url={down!r}, platform_events_home={str(home)!r})
        analytics = Analytics(settings, batch_size=10, flush_interval=0.05, debounce={{}},
                              retry=RetryPolicy(max_attempts=2, base_seconds=0.01))
        for i in range(35):
            analytics.emit_event("user.logout", {{"reason": "user"}}, metadata={{"who": "first"}})
        analytics.close(timeout=5)
        print(json.dumps(analytics.stats.__dict__))
        """
    )
    assert exited.returncode == 0, exited.stderr[-3000:]
    first = json.loads(exited.stdout.strip().splitlines()[-1])
    assert first["spooled"] == 35 and first["spool_dropped"] == 0
    assert _stored_by_who(conn) == {}

    # Two processes start at once with the store back: each file is sent by one of them.
    script = f"""
        import json
        from platform_events.client import Analytics
        from platform_events.config import load_settings
        settings = load_settings(database_url={settings.database_url!r},
                                 platform_events_home={str(home)!r})
        analytics = Analytics(settings, flush_interval=0.05, debounce={{}})
        analytics.emit_event("user.logout", {{"reason": "user"}}, metadata={{"who": "next"}})
        analytics.close()
        print(json.dumps(analytics.stats.__dict__))
        """
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(script)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={"PYTHONPATH": str(REPO / "functions"), "PATH": "/usr/bin:/bin"},
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    stats = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert sum(s["unspooled"] for s in stats) == 35
    assert sum(s["duplicate"] for s in stats) == 0
    assert _stored_by_who(conn) == {"first": 35, "next": 2}
    assert not any((home / "spool").iterdir())


def test_a_full_spool_drops_the_batch_and_counts_it(
    settings: Settings, conn: Conn, tmp_path: Path
) -> None:
    from platform_events.client import Analytics, RetryPolicy
    from platform_events.config import load_settings

    down = f"postgresql://nobody@/postgres?host={tmp_path / 'no-server'}&connect_timeout=2"
    cramped = load_settings(
        database_url=down,
        platform_events_home=tmp_path,
        client_spool_max_files=1,
    )
    analytics = Analytics(
        cramped,
        batch_size=5,
        flush_interval=0.05,
        debounce={},
        retry=RetryPolicy(max_attempts=1, base_seconds=0.01),
    )
    for _ in range(10):
        analytics.emit_event("user.logout", {"reason": "user"})
    analytics.flush(timeout=10)
    analytics.close(timeout=2)
    assert analytics.stats.failed == 10
    assert analytics.stats.spooled == 5 and analytics.stats.spool_dropped == 5
    assert len(list((tmp_path / "spool").iterdir())) == 1
