"""``check_request_path`` passes the raw path on, and its error names the problem.

Mutation testing showed the raw-path argument could be dropped unnoticed:
every test of encoded separators went through ``path_problem`` directly.
"""

from __future__ import annotations

import pytest

from authplug.request_path import AmbiguousPathError, PathProblem, check_request_path


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"/files/a%2Fb", PathProblem.ENCODED_SEPARATOR),
        ("/files/a%2fb", PathProblem.ENCODED_SEPARATOR),
        (b"/files/a%5cb", PathProblem.BACKSLASH),
    ],
    ids=["bytes-slash", "text-slash", "bytes-backslash"],
)
def test_the_raw_path_is_checked(raw: bytes | str, problem: PathProblem) -> None:
    # The decoded path alone is fine: only the raw path shows the encoded separator.
    assert check_request_path("/files/a/b") == "/files/a/b"
    with pytest.raises(AmbiguousPathError) as caught:
        check_request_path("/files/a/b", raw)
    assert caught.value.problem is problem
    assert caught.value.code == "ambiguous_path"
    assert caught.value.status == 400
    assert problem.value in str(caught.value)


def test_a_clean_raw_path_passes() -> None:
    assert check_request_path("/files/a b", b"/files/a%20b?x=%2F") == "/files/a b"
