"""``decode_segment`` on its own: every failure is the typed ``malformed_token`` refusal.

:func:`~authplug.jose.compact.decode_segment` is public and documented for
segments whose alphabet :func:`~authplug.jose.compact.split_compact` already
checked; given one it did not check, the base64 decoder's own error must still
come out as ``TokenRejectedError("malformed_token")``, never as
``binascii.Error``.
"""

from __future__ import annotations

import pytest

from authplug.jose.compact import decode_segment
from authplug.jose.errors import TokenRejectedError


@pytest.mark.parametrize("segment", ["ab!d", "ab=d", "a b="], ids=["bang", "inner-pad", "space"])
def test_an_unchecked_segment_the_decoder_refuses_is_malformed(segment: str) -> None:
    with pytest.raises(TokenRejectedError) as caught:
        decode_segment(segment)
    assert caught.value.code == "malformed_token"
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_a_checked_segment_decodes() -> None:
    assert decode_segment("aGk") == b"hi"
    assert decode_segment("") == b""
