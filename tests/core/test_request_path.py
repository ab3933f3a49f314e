"""The request path check on its own: each ambiguous form has its reason; plain paths pass."""

from __future__ import annotations

import pytest

from authplug.access import normalize_path
from authplug.errors import AuthplugError
from authplug.request_path import (
    AmbiguousPathError,
    PathProblem,
    check_request_path,
    path_problem,
)

REFUSED: list[tuple[str, PathProblem]] = [
    ("", PathProblem.NOT_ABSOLUTE),
    ("*", PathProblem.NOT_ABSOLUTE),
    ("admin", PathProblem.NOT_ABSOLUTE),
    ("http://evil.example/admin", PathProblem.NOT_ABSOLUTE),
    ("/admin/..", PathProblem.DOT_SEGMENT),
    ("/admin/../secret", PathProblem.DOT_SEGMENT),
    ("/admin/x/../..", PathProblem.DOT_SEGMENT),
    ("/admin/.", PathProblem.DOT_SEGMENT),
    ("/admin/./x", PathProblem.DOT_SEGMENT),
    ("/..", PathProblem.DOT_SEGMENT),
    ("/./admin", PathProblem.DOT_SEGMENT),
    ("//admin", PathProblem.EMPTY_SEGMENT),
    ("/admin//x", PathProblem.EMPTY_SEGMENT),
    ("/admin//", PathProblem.EMPTY_SEGMENT),
    ("//", PathProblem.EMPTY_SEGMENT),
    ("/admin\\..\\secret", PathProblem.BACKSLASH),
    ("/\\evil.example", PathProblem.BACKSLASH),
    ("/admin\x00", PathProblem.CONTROL_CHARACTER),
    ("/admin/\x00/x", PathProblem.CONTROL_CHARACTER),
    ("/admin\r\nx", PathProblem.CONTROL_CHARACTER),
    ("/admin\t", PathProblem.CONTROL_CHARACTER),
    ("/admin\x7f", PathProblem.CONTROL_CHARACTER),
    ("/admin\x85", PathProblem.CONTROL_CHARACTER),
    ("/ad\u200bmin", PathProblem.CONTROL_CHARACTER),
    ("/admin\u202e", PathProblem.CONTROL_CHARACTER),
    ("/admin\u00a0", PathProblem.CONTROL_CHARACTER),
    ("/admin\u2028x", PathProblem.CONTROL_CHARACTER),
    ("/x\ud800", PathProblem.CONTROL_CHARACTER),
    ("/x\uff0f..\uff0fadmin", PathProblem.LOOKALIKE_SEPARATOR),
    ("/admin/\uff0e\uff0e", PathProblem.LOOKALIKE_SEPARATOR),
    ("/admin/\u2025", PathProblem.LOOKALIKE_SEPARATOR),
    ("/admin\uff3c", PathProblem.LOOKALIKE_SEPARATOR),
    ("/x/\u2024/admin", PathProblem.LOOKALIKE_SEPARATOR),
]

ACCEPTED = [
    "/",
    "/admin",
    "/admin/",
    "/admin/x",
    "/admin;x=1",
    "/admin.",
    "/admin/...",
    "/admin/.hidden",
    "/admin/x..",
    "/ADMIN",
    "/admin/%2e%2e",
    "/admin/a b",
    "/\uff41dmin",
    "/caf\u00e9/\u65e5\u672c",
    "/x/\ufffd",
]


@pytest.mark.parametrize(("path", "problem"), REFUSED)
def test_ambiguous_paths_are_refused_with_their_reason(path: str, problem: PathProblem) -> None:
    assert path_problem(path) is problem
    with pytest.raises(AmbiguousPathError) as caught:
        check_request_path(path)
    assert caught.value.problem is problem
    assert caught.value.status == 400
    assert caught.value.code == "ambiguous_path"
    assert isinstance(caught.value, AuthplugError)


@pytest.mark.parametrize("path", ACCEPTED)
def test_plain_paths_are_accepted_and_normalising_leaves_them_alone(path: str) -> None:
    assert path_problem(path) is None
    assert check_request_path(path) == path
    assert normalize_path(path) == (path.rstrip("/") or "/")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"/admin%2fx", PathProblem.ENCODED_SEPARATOR),
        (b"/public%2F..%2Fadmin", PathProblem.ENCODED_SEPARATOR),
        (b"/admin%5cx", PathProblem.BACKSLASH),
        (b"/admin%5Cx", PathProblem.BACKSLASH),
        ("/admin%2fx?q=1", PathProblem.ENCODED_SEPARATOR),
    ],
)
def test_encoded_separators_in_the_raw_path_are_refused(
    raw: bytes | str, problem: PathProblem
) -> None:
    # The decoded path alone looks harmless: only the raw path shows the encoding.
    assert path_problem("/admin/x", raw) is problem


@pytest.mark.parametrize(
    "raw", [b"/admin/x", b"/admin/x?next=%2Fadmin%5C", "/a%20b", b"/%61dmin/x"]
)
def test_a_raw_path_without_encoded_separators_passes(raw: bytes | str) -> None:
    assert path_problem("/admin/x", raw) is None


def test_the_reason_never_echoes_the_path() -> None:
    with pytest.raises(AmbiguousPathError) as caught:
        check_request_path("/admin/../secret-token-value")
    assert "secret" not in str(caught.value)
