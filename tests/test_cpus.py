"""CPU sets: cpu lists, shares of the cores, pinning a process."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dunes.cpus import allowed_cpus, format_cpu_list, parse_cpu_list, share
from dunes.errors import InvalidInputError


@given(st.sets(st.integers(0, 200), min_size=1))
def test_cpu_lists_round_trip(cpus: set[int]) -> None:
    text = format_cpu_list(cpus)
    assert all(part and part[0].isdigit() for part in text.split(","))
    # Parsing checks the cores against this machine's, so read the format back by hand.
    back: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        back.update(range(int(low), int(high or low) + 1))
    assert back == cpus


def test_cpu_list_format_and_parse() -> None:
    assert format_cpu_list([6, 0, 1, 2, 3]) == "0-3,6"
    assert format_cpu_list([5]) == "5"
    first = allowed_cpus()[0]
    assert parse_cpu_list(f" {first} ") == [first]
    assert parse_cpu_list(format_cpu_list(allowed_cpus())) == allowed_cpus()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not a cpu list"),
        ("a", "not a cpu list"),
        ("1-", "not a cpu list"),
        ("-1", "not a cpu list"),
        ("3-1", "runs backwards"),
        ("4096", "cannot use; available"),
    ],
)
def test_bad_cpu_lists_say_what_is_accepted(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_cpu_list(text)


@given(st.integers(1, 64), st.integers(1, 16))
def test_shares_are_disjoint_contiguous_and_cover_the_cores(cores: int, workers: int) -> None:
    cpus = list(range(cores))
    shares = [share(i, workers, cpus) for i in range(workers)]
    assert all(s and s == list(range(s[0], s[-1] + 1)) for s in shares)
    if workers <= cores:
        assert sorted(c for s in shares for c in s) == cpus
        assert max(map(len, shares)) - min(map(len, shares)) <= 1
    else:  # more workers than cores: one core each, round-robin
        assert [s[0] for s in shares] == [i % cores for i in range(workers)]


def test_pin_moves_every_thread_of_the_process() -> None:
    code = (
        "import os, threading\n"
        "from dunes.cpus import allowed_cpus, pin\n"
        "stop = threading.Event()\n"
        "t = threading.Thread(target=stop.wait); t.start()\n"
        "first = allowed_cpus()[0]\n"
        "assert pin([first])\n"
        "print(sorted(os.sched_getaffinity(0)), sorted(os.sched_getaffinity(t.native_id)))\n"
        "stop.set()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    first = allowed_cpus()[0]
    assert out.stdout.strip() == f"[{first}] [{first}]"
