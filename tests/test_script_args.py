"""Scripts spell their flags as the CLI does; the old spellings still work, with a notice."""

from proj.script_args import ScriptParser


def test_new_and_old_spellings_parse_alike_and_the_old_one_says_so(capsys):
    parser = ScriptParser()
    parser.add_argument("--logs_dir", default="logs")
    parser.add_argument("--ckpt_path", old=["--ckpt"])
    new = parser.parse_args(["--logs_dir", "runs", "--ckpt_path", "best"])
    assert capsys.readouterr().err == ""
    old = parser.parse_args(["--logs-dir", "runs", "--ckpt", "best"])
    assert vars(old) == vars(new) == {"logs_dir": "runs", "ckpt_path": "best"}
    err = capsys.readouterr().err
    assert "note: --logs-dir is now spelled --logs_dir" in err
    assert "note: --ckpt is now spelled --ckpt_path" in err


def test_arguments_after_a_double_dash_are_not_checked(capsys):
    parser = ScriptParser()
    parser.add_argument("--logs_dir", default="logs")
    parser.add_argument("rest", nargs="*")
    parser.parse_args(["--", "--logs-dir", "x"])
    assert capsys.readouterr().err == ""
