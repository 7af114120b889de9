"""`proj --print_shtab`: a completion script that bash really completes with."""

import subprocess

import pytest

from proj.cli import main


def _script(capsys, shell: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(["--print_shtab", shell])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def test_bash_completes_subcommands_options_and_config_files(tmp_path, capsys):
    script = tmp_path / "proj.bash"
    script.write_text(_script(capsys, "bash"))
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "mine.yaml").write_text("")

    def complete(*words: str) -> list[str]:
        command = (
            f"source {script}; COMP_WORDS=({' '.join(words)}); COMP_CWORD={len(words) - 1}; "
            '_shtab_proj; printf "%s\\n" "${COMPREPLY[@]}"'
        )
        result = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, cwd=tmp_path
        )
        return result.stdout.split()

    assert complete("proj", "fi") == ["fit"]
    assert "serve" in complete("proj", "se")
    assert "--config" in complete("proj", "fit", "--conf")
    assert "--trainer.max_epochs" in complete("proj", "fit", "--trainer.max_ep")
    assert "--max_batch_size" in complete("proj", "serve", "--max_b")
    assert complete("proj", "fit", "--config", "configs/m") == ["configs/mine.yaml"]


def test_zsh_gets_a_script_and_an_unknown_shell_is_named(capsys):
    assert _script(capsys, "zsh").startswith("#compdef proj")
    with pytest.raises(SystemExit) as exit_:
        main(["--print_shtab", "fish"])
    assert exit_.value.code == 2
    assert "expected one of bash, zsh, tcsh" in capsys.readouterr().err
