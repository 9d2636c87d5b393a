"""Job models: requests are validated at the edge, batches and sweeps expand in order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dunes.errors import InvalidInputError
from dunes.orchestration import JobRequest
from dunes.orchestration.runner import attempt_key, split
from dunes.validation import parse_model


def test_request_needs_exactly_one_input() -> None:
    with pytest.raises(InvalidInputError, match="exactly one of task, circuit, circuits or maml"):
        parse_model(JobRequest, {"task": "GHZ", "circuit": "h(0)"})
    with pytest.raises(InvalidInputError, match="got none"):
        parse_model(JobRequest, {"shots": 10})
    with pytest.raises(InvalidInputError, match="shots"):
        parse_model(JobRequest, {"circuit": "h(0)", "shots": -1})
    with pytest.raises(InvalidInputError, match="Extra inputs"):
        parse_model(JobRequest, {"circuit": "h(0)", "qubits": 3})
    # An empty batch beside a circuit once reached the splitter (found by schemathesis).
    with pytest.raises(InvalidInputError, match="circuits is empty"):
        parse_model(JobRequest, {"circuits": [], "circuit": "h(0)"})


def test_kinds() -> None:
    assert JobRequest(task="Design a GHZ state").kind == "task"
    assert JobRequest(circuit="h(0)").kind == "circuit"
    assert JobRequest(circuits=["h(0)", "x(0)"]).kind == "batch"
    assert JobRequest(maml="doc.maml.md").kind == "maml"
    assert JobRequest(circuit="rx({t}, 0)", sweep={"t": [0.0, 1.0]}).kind == "batch"


def test_sweep_substitutes_in_order() -> None:
    request = JobRequest(circuit="rx({a}, 0); ry({b}, 1)", sweep={"a": [0.0, 0.5], "b": [1, 2]})
    assert request.batch_circuits() == ["rx(0.0, 0); ry(1.0, 1)", "rx(0.5, 0); ry(2.0, 1)"]
    with pytest.raises(InvalidInputError, match="one common length"):
        parse_model(JobRequest, {"circuit": "rx({a},0)", "sweep": {"a": [1], "b": [1, 2]}})
    with pytest.raises(InvalidInputError, match="unfilled"):
        JobRequest(circuit="rx({a},0); ry({c},0)", sweep={"a": [1.0]}).batch_circuits()


def test_split_keeps_order_and_covers_everything() -> None:
    items = list(range(7))
    parts = split(items, 3)
    assert [offset for offset, _ in parts] == [0, 3, 6]
    assert [x for _, part in parts for x in part] == items
    assert split([1], 4) == [(0, [1])]


def test_attempt_keys_differ() -> None:
    assert attempt_key("j", 0) == "j"
    assert attempt_key("j", 2) == "j@2"


def test_redis_versions_are_compared_as_numbers() -> None:
    from dunes.orchestration.executors.celery import MIN_REDIS, _version

    assert _version("6.0.16") < MIN_REDIS <= _version("6.2.0") < _version("7.0.15")
    assert _version("unstable") >= MIN_REDIS


def test_result_note_carries_a_small_result_and_nothing_else() -> None:
    from dunes.orchestration.store import (
        RESULT_NOTE_MAX_BYTES,
        read_result_note,
        result_note,
        stored_result,
    )

    result = {"kind": "circuit", "circuit": "h(0)", "statevector": [[0.7071, 0.0], [0.7071, 0.0]]}
    note = result_note(result)
    assert note is not None
    assert read_result_note("j1", note) == stored_result("j1", "succeeded", result)
    assert read_result_note("j1", note.encode()).status == "succeeded"
    assert result_note(None) is None
    assert result_note({"circuit": "x" * RESULT_NOTE_MAX_BYTES}) is None
    for garbage in ("1", b"1", "{", '{"status": "succeeded"}', "[]"):
        assert read_result_note("j1", garbage) is None


@given(st.binary(max_size=200) | st.text(max_size=200))
def test_any_mark_that_is_not_a_note_reads_as_none(mark: bytes | str) -> None:
    from dunes.orchestration.store import read_result_note

    note = read_result_note("j1", mark)
    assert note is None or (note.job_id, note.status) == ("j1", "succeeded")
