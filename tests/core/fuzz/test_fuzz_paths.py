"""Properties of the request path check, the access path matcher and ``return_to``.

Any input gives a typed result (a :class:`PathProblem` or ``None``, a
:class:`Decision`, a path or ``None``), never another exception; and what is
accepted has the property the security argument rests on.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from authplug.access import AccessPolicy, AccessRule, Decision, normalize_path
from authplug.models import AuthenticatedUser
from authplug.request_path import AmbiguousPathError, PathProblem, check_request_path, path_problem
from authplug.return_to import MAX_RETURN_TO_LENGTH, safe_return_to

pytestmark = pytest.mark.fuzz

# Pieces a path confusion is made of: separators, dots, their encodings and
# look-alikes, controls, parameters, the names the rules protect.
PIECES = [
    "admin",
    "Admin",
    "public",
    "x",
    "",
    ".",
    "..",
    "...",
    "%2e",
    "%2e%2e",
    ".%2e",
    "%2f",
    "%5c",
    "\\",
    ";",
    ";x=1",
    "%00",
    "\x00",
    "\t",
    "\r\n",
    "\x7f",
    "\x85",
    "\u200b",
    "\u202e",
    "\u00a0",
    "\uff0f",
    "\uff0e",
    "\u2025",
    "\uff3c",
    "\uff41dmin",
    "%25",
    "?",
    "#",
    " ",
    "caf\u00e9",
]

segments = st.lists(st.sampled_from(PIECES) | st.text(max_size=6), max_size=8)
paths = st.one_of(
    st.text(max_size=40),
    segments.map(lambda parts: "/" + "/".join(parts)),
    segments.map(lambda parts: "".join(parts)),
)
raw_paths = st.one_of(
    st.none(),
    st.binary(max_size=40),
    paths.map(lambda p: p.encode("utf-8", "surrogatepass")),
    paths,
)

USER = AuthenticatedUser[dict[str, str], dict[str, str]](
    user_id="bob", user_type="internal-user", roles=("pika:reader",)
)
POLICY = AccessPolicy(
    [
        AccessRule("/admin", roles=("pika:content-admin",)),
        AccessRule("/admin/public", user_types=("internal-user",)),
        AccessRule("/", user_types=("internal-user", "external-user")),
    ]
)


def _literal_rule(path: str) -> str:
    """The longest rule prefix covering ``path`` read literally (no normalising)."""
    for prefix in ("/admin/public", "/admin"):
        if path == prefix or path.startswith(prefix + "/"):
            return prefix
    return "/"


@given(paths, raw_paths)
@example("/admin/..", None)
@example("/admin", b"/admin%2f..")
def test_the_path_check_answers_every_input_with_a_type(path: str, raw: bytes | str | None) -> None:
    problem = path_problem(path, raw)
    assert problem is None or isinstance(problem, PathProblem)
    if problem is None:
        assert check_request_path(path, raw) == path
    else:
        with pytest.raises(AmbiguousPathError):
            check_request_path(path, raw)


@given(paths)
def test_an_accepted_path_is_what_every_normaliser_sees(path: str) -> None:
    if path_problem(path) is not None:
        return
    segments_ = path.split("/")[1:]
    assert path.startswith("/")
    assert "." not in segments_
    assert ".." not in segments_
    assert "" not in segments_[:-1]  # no empty segment but a trailing slash
    assert "\\" not in path
    assert path.isprintable()
    # The policy's normaliser leaves it alone (up to a trailing slash) ...
    assert normalize_path(path) == (path.rstrip("/") or "/")
    # ... so the rule it picks is the rule the literal path (what routers see) falls under.
    assert POLICY.rule_for(path)[0].path == _literal_rule(path)
    # And a Unicode-normalising component sees the same segments.
    folded = unicodedata.normalize("NFKC", path)
    assert folded.count("/") == path.count("/")
    assert path_problem(folded) in (None, PathProblem.CONTROL_CHARACTER)


@given(paths)
def test_the_access_matcher_decides_every_path(path: str) -> None:
    decision = POLICY.decide(path, USER)
    assert isinstance(decision, Decision)
    assert POLICY.decide(path, None) in (Decision.DENY, Decision.NO_RULE)
    if path_problem(path) is None and _literal_rule(path) == "/admin":
        assert decision is Decision.DENY


@given(
    st.one_of(
        st.none(),
        st.text(max_size=60),
        segments.map(lambda parts: "/" + "/".join(parts)),
        st.sampled_from(["/", "//", "/\\", "https:", "javascript:", "%2f", "%5c"]).flatmap(
            lambda head: st.text(max_size=30).map(lambda tail: head + tail)
        ),
        st.text(min_size=MAX_RETURN_TO_LENGTH - 2, max_size=MAX_RETURN_TO_LENGTH + 2),
    )
)
@example("/%2F%2Fevil.example")
@example("/\t/evil.example")
def test_return_to_is_a_same_origin_path_or_nothing(value: str | None) -> None:
    safe = safe_return_to(value)
    if safe is None:
        return
    assert safe == value
    assert len(safe) <= MAX_RETURN_TO_LENGTH
    assert safe.isascii()
    assert safe.isprintable()
    layer = safe
    for _ in range(4):
        assert layer.startswith("/")
        assert not layer.startswith(("//", "/\\"))
        assert "\\" not in layer
        parts = urlsplit(layer)
        assert parts.scheme == ""
        assert parts.netloc == ""
        layer = unquote(layer)
