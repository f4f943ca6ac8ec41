"""The durable outbox: per-item order, retry timing, dead letters, remembered ids, kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from cloud.sync.outbox import Outbox


def test_only_the_head_of_each_item_is_due(tmp_path):
    ob = Outbox(tmp_path / "o.sqlite")
    a1 = ob.enqueue("A", "alert.new", {"n": 1}, now=0)
    b1 = ob.enqueue("B", "alert.new", {"n": 2}, now=0)
    a2 = ob.enqueue("A", "workorder.changed", {"n": 3}, now=0)
    assert [e.seq for e in ob.due(now=1)] == [a1, b1]
    ob.done(a1)
    assert [e.seq for e in ob.due(now=1)] == [b1, a2]
    assert ob.due(now=1)[1].payload == {"n": 3}
    assert ob.delivered_count() == 1


def test_a_burst_is_one_transaction_in_order(tmp_path):
    ob = Outbox(tmp_path / "o.sqlite")
    seqs = ob.enqueue_many([("A", "k", {"i": 0}), ("B", "k", {"i": 1}), ("A", "k", {"i": 2})], now=0)
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert [e.payload["i"] for e in ob.due(1)] == [0, 1]
    with pytest.raises(TypeError):
        ob.enqueue_many([("C", "k", {"i": 3}), ("D", "k", {"bad": object()})], now=0)
    assert ob.backlog() == 3, "a failed burst leaves nothing half-written"


def test_a_failing_item_waits_but_does_not_block_others(tmp_path):
    ob = Outbox(tmp_path / "o.sqlite")
    a1 = ob.enqueue("A", "k", {}, now=0)
    ob.enqueue("A", "k", {}, now=0)
    b1 = ob.enqueue("B", "k", {}, now=0)
    ob.retry_later(a1, "HTTP 500", next_at=10)
    assert [e.seq for e in ob.due(now=5)] == [b1]
    assert ob.next_due_at() == 0
    ob.done(b1)
    assert ob.next_due_at() == 10
    due = ob.due(now=10)
    assert [(e.seq, e.attempts) for e in due] == [(a1, 1)]
    assert ob.last_error() == "HTTP 500"


def test_dead_letter_unblocks_the_item(tmp_path):
    ob = Outbox(tmp_path / "o.sqlite")
    a1 = ob.enqueue("A", "k", {"bad": True}, now=0)
    a2 = ob.enqueue("A", "k", {}, now=0)
    ob.dead_letter(ob.due(1)[0], "HTTP 422", now=1)
    assert [e.seq for e in ob.due(1)] == [a2]
    assert ob.dead_count() == 1 and ob.backlog() == 1
    assert a1 != a2


def test_remembered_ids_survive_reopen(tmp_path):
    ob = Outbox(tmp_path / "o.sqlite")
    ob.remember("Things:drone-1", "i:7")
    ob.enqueue("A", "k", {"x": 1}, now=0)
    ob.close()
    ob2 = Outbox(tmp_path / "o.sqlite")
    assert ob2.recall("Things:drone-1") == "i:7"
    assert ob2.recall("Things:other") is None
    assert ob2.backlog() == 1


def test_entries_survive_kill_9(tmp_path):
    """Everything enqueue() acknowledged is there after SIGKILL of the writer."""
    path = tmp_path / "o.sqlite"
    code = textwrap.dedent(
        f"""
        import sys, time
        from cloud.sync.outbox import Outbox
        ob = Outbox({str(path)!r})
        for i in range(200):
            ob.enqueue(f"item-{{i % 7}}", "alert.new", {{"i": i}}, now=time.time())
            print(i, flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    acked = -1
    for line in proc.stdout:
        acked = int(line)
        if acked == 199:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    ob = Outbox(path)
    assert ob.backlog() == 200
    heads = ob.due(now=1e12)
    assert [e.payload["i"] for e in heads] == list(range(7))
