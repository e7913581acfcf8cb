"""IF_EXISTS is parsed once, into ``IfExists``, however it is given (variable, flag, Python caller),
and reads back as the text the user wrote wherever a run shows it."""

from __future__ import annotations

import json

import pytest

from processor.errors import ConfigError
from processor.records import IfExists
from processor.settings import Settings, load_settings

SPELLINGS = ["fail", "replace", "append", "merge", "delete_rows"]


@pytest.mark.parametrize("text", SPELLINGS)
def test_each_spelling_is_one_member_from_the_environment_and_from_python(text):
    from_env = load_settings([], {"IF_EXISTS": text.upper(), "PRIMARY_KEY": "id"})
    from_python = Settings(if_exists=text, primary_key=("id",))
    assert type(from_env.if_exists) is IfExists
    assert from_env.if_exists is from_python.if_exists
    assert f"IF_EXISTS={from_python.if_exists}" == f"IF_EXISTS={text}"
    assert json.loads(json.dumps(from_python.shown()))["IF_EXISTS"] == text


def test_a_python_caller_gets_the_variables_error_for_an_unknown_value():
    with pytest.raises(ConfigError) as raised:
        Settings(if_exists="sometimes")  # type: ignore[arg-type]  # a caller's text, parsed once
    expected = "IF_EXISTS must be one of fail, replace, append, merge, delete_rows; got 'sometimes'"
    assert str(raised.value) == expected


@pytest.mark.parametrize(
    ("text", "into_existing", "skips_held", "removes_rows", "upserts"),
    [
        ("fail", False, False, False, False),
        ("replace", False, False, True, False),
        ("append", True, True, False, False),
        ("merge", True, True, False, True),
        ("delete_rows", True, False, True, False),
    ],
)
def test_what_each_value_means_for_the_run(text, into_existing, skips_held, removes_rows, upserts):
    """What the README says each value does, written out by hand."""
    value = IfExists(text)
    assert (value.into_existing, value.skips_held, value.removes_rows, value.upserts) == (
        into_existing,
        skips_held,
        removes_rows,
        upserts,
    )
