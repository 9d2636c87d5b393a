"""``jsonable``: plain JSON out, the same as a slow element-by-element conversion."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from dunes.beluga.canonical import jsonable
from dunes.errors import InvalidInputError

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=6)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5) | st.integers(0, 9), inner, max_size=4)
    ),
    max_leaves=20,
)


def _reference(value):
    if isinstance(value, dict):
        return {str(k): _reference(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_reference(v) for v in value]
    return value


@given(values)
def test_matches_the_element_by_element_conversion(value) -> None:
    out = jsonable(value)
    assert out == _reference(value)
    assert json.loads(json.dumps(out, allow_nan=False)) == out


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=50))
def test_float_lists_come_back_as_new_lists(numbers) -> None:
    out = jsonable(tuple(numbers))
    assert out == numbers and isinstance(out, list)


@pytest.mark.parametrize(
    "bad",
    [
        [1.0, math.inf],
        [0.5, math.nan, 2.0],
        {"a": [1, 2.0, -math.inf]},
        (math.nan,),
        np.array([1.0, np.inf]),
        complex(1.0, math.nan),
    ],
)
def test_non_finite_numbers_are_refused_wherever_they_hide(bad) -> None:
    with pytest.raises(InvalidInputError, match="non-finite"):
        jsonable(bad)


def test_numpy_models_and_complex_numbers_become_json() -> None:
    class Point(BaseModel):
        x: float
        tags: tuple[str, ...]

    value = {
        "vector": np.array([0.5, 0.25]),
        "count": np.int64(3),
        "amplitude": complex(0.5, -0.5),
        "point": Point(x=1.5, tags=("a", "b")),
    }
    assert jsonable(value) == {
        "vector": [0.5, 0.25],
        "count": 3,
        "amplitude": [0.5, -0.5],
        "point": {"x": 1.5, "tags": ["a", "b"]},
    }


def test_unknown_types_name_what_is_accepted() -> None:
    with pytest.raises(InvalidInputError, match=r"cannot store a set.*accepted are JSON values"):
        jsonable({1, 2})
