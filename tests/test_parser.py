"""Canaries for the jsonargparse wording that parser.condensed reads (pinned <5): each
pattern it parses, produced by a real jsonargparse error, and what it makes of it."""

import pytest

from proj.cli import main
from proj.parser import condensed
from tests.conftest import MLP


def _parse_error(capsys, *args: str) -> str:
    with pytest.raises(SystemExit):
        main(["fit", "--config", MLP, *args, "--print_config"])
    return capsys.readouterr().err


def test_a_union_error_is_condensed_to_the_key_and_the_problem(capsys):
    """'Does not validate against any of the Union subtypes', 'Parser key "..."', the
    'Errors:' items, 'Given value:' and 'Expected a <class ...>' are what it reads."""
    err = _parse_error(capsys, "--model.init_args.net.init_args.hidden", "many")
    assert err.splitlines()[0] == "error: model.net.hidden: expected int, got 'many'"


def test_the_raw_wording_still_has_the_patterns(capsys, monkeypatch):
    seen = []
    monkeypatch.setattr("proj.parser.condensed", lambda m: seen.append(m) or condensed(m))
    _parse_error(capsys, "--model.init_args.net.init_args.hidden", "many")
    raw = seen[0]
    for pattern in (
        "Does not validate against any of the Union subtypes",
        'Parser key "',
        "Errors:",
        "Given value",
        "Expected a <class 'int'>",
    ):
        assert pattern in raw, f"jsonargparse no longer says {pattern!r}: update parser.condensed"


def test_a_plain_type_error_is_passed_as_it_is(capsys):
    err = _parse_error(capsys, "--trainer.max_epochs", "many")
    assert err.startswith("error: ") and "trainer.max_epochs" in err.splitlines()[0]
