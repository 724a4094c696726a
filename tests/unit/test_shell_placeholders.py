"""``shell: true`` placeholders: a value is never parsed by the shell, whatever the quoting.

Each script runs in a real ``/bin/sh`` with the variables lockgate gives it, in a folder
where an injected ``touch PWNED`` would leave a file.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lockgate.context import RunContext
from lockgate.daemon.launcher import LaunchError, LocalLauncher
from lockgate.definitions import Job
from lockgate.errors import ConfigError
from lockgate.settings import load_definitions
from lockgate.shell import render_shell, shell_template_problem

NASTY = [
    "$(touch PWNED)",
    "`touch PWNED`",
    '"; touch PWNED; echo "',
    "'; touch PWNED; echo '",
    "x; touch PWNED",
    "x | touch PWNED",
    "x && touch PWNED",
    "a\nEOF\ntouch PWNED\nEOF",
    "back\\slash\\",
    "\\$(touch PWNED)",
    "${HOME}$HOME",
    "* ?",
    "  two  spaces  ",
    "'\"'\"",
    "}{file.path}{",
    os.fsdecode(b"bytes-\xff\xfe-$(touch PWNED)"),
    "",
]

# (script, what it prints for value v)
CONTEXTS = [
    ("printf '[%s]' {file.path}", "[{v}]"),
    ("printf '[%s]' \"in:{file.path}:out\"", "[in:{v}:out]"),
    ("printf '[%s]' 'in:{file.path}:out'", "[in:{v}:out]"),
    ("printf '[%s]' pre{file.path}post", "[pre{v}post]"),
    ("printf '[%s]' \"$(printf %s {file.path})\"", "[{v}]"),
    ('printf \'[%s]\' "$(printf %s "{file.path}")"', "[{v}]"),
    ("printf '[%s]' \"`printf %s {file.path}`\"", "[{v}]"),
    (
        "printf '[%s]' `printf %s\\\\n '{file.path}' | od -An -c | tr -d ' \\n'` >/dev/null;"
        " printf '[%s]' \"{file.path}\"",
        "[{v}]",
    ),
    ("cat <<EOF\n{file.path}\nEOF", "{v}\n"),
    ("cat <<-EOF\n\t<{file.path}>\n\tEOF", "<{v}>\n"),
    ("printf '[%s]' \"$(cat <<EOF\n{file.path}\nEOF\n)\"", "[{v}]"),
    ("x={file.path}; printf '[%s]' \"$x\"", "[{v}]"),
    ("f() {{ printf '[%s]' {file.path}; }}; f other", "[{v}]"),
    ("printf '[%s]' \"${{UNSET:-{file.path}}}\"", "[{v}]"),
    ("# a comment naming {file.path}\nprintf '[%s]' {file.name}", "[{v}]"),
    ("printf '[%s|%s]' {file.path} '{file.name}'", "[{v}|{v}]"),
]


def shell_job(script: str) -> Job:
    return Job(name="j", command=(script,), shell=True)


def run_script(tmp_path: Path, script: str, value: str) -> bytes:
    context = RunContext(run_id=1, trigger={"file": {"path": value, "name": value}})
    argv, env = LocalLauncher(state_dir=tmp_path).command_for(shell_job(script), context)
    done = subprocess.run(
        argv,
        cwd=tmp_path,
        env={"PATH": os.defpath, **env},
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("script,shows", CONTEXTS)
@pytest.mark.parametrize("value", NASTY)
def test_a_placeholder_value_reaches_the_job_intact_and_never_runs(
    tmp_path: Path, script: str, shows: str, value: str
) -> None:
    out = run_script(tmp_path, script, value)
    if "$(" in script or "`" in script:
        value = value.rstrip("\n")  # command substitution drops trailing newlines
    assert out == os.fsencode(shows.replace("{v}", value))
    assert not (tmp_path / "PWNED").exists()


def test_the_script_holds_references_not_values(tmp_path: Path) -> None:
    context = RunContext(run_id=7, config={"name": "$(touch PWNED)"})
    rendered = render_shell("process \"{name}\" {run.id} '{name}'", context)
    assert "PWNED" not in rendered.script
    assert rendered.script == (
        'process "${LOCKGATE_ARG_1}" "${LOCKGATE_ARG_2}" \'\'"${LOCKGATE_ARG_3}"\'\''
    )
    assert rendered.env == {
        "LOCKGATE_ARG_1": "$(touch PWNED)",
        "LOCKGATE_ARG_2": "7",
        "LOCKGATE_ARG_3": "$(touch PWNED)",
    }


def test_ordinary_values_keep_their_meaning(tmp_path: Path) -> None:
    context = RunContext(run_id=3, partition_key="2024-03-30", config={"limit": 10})
    job = shell_job("printf '%s,' {run.id} \"{partition.key}\" {limit:05d} {{literal}}")
    argv, env = LocalLauncher(state_dir=tmp_path).command_for(job, context)
    out = subprocess.run(
        argv, env={"PATH": os.defpath, **env}, capture_output=True, check=True
    ).stdout
    assert out == b"3,2024-03-30,00010,{literal},"


@pytest.mark.parametrize(
    ("script", "says"),
    [
        ("cat <<'EOF'\n{file.path}\nEOF", "quoted delimiter"),
        ('cat <<"EOF"\n{file.path}\nEOF', "quoted delimiter"),
        ("echo \\{file.path}", "follows a backslash"),
        ("echo $(( {limit} + 1 ))", "arithmetic"),
    ],
)
def test_a_placeholder_where_no_reference_can_stand_is_refused_with_the_fix(
    tmp_path: Path, script: str, says: str
) -> None:
    problem = shell_template_problem(script)
    assert problem is not None and says in problem
    context = RunContext(run_id=1, trigger={"file": {"path": "x"}}, config={"limit": 1})
    with pytest.raises(LaunchError, match=says):
        LocalLauncher(state_dir=tmp_path).command_for(shell_job(script), context)


def test_a_placeholder_after_a_here_document_is_a_plain_word_again() -> None:
    rendered = render_shell("cat <<'EOF'\nliteral $x\nEOF\necho {run.id}", RunContext(run_id=5))
    assert rendered.script.endswith('echo "${LOCKGATE_ARG_1}"')


def test_check_refuses_a_shell_command_whose_placeholder_cannot_stand(tmp_path: Path) -> None:
    (tmp_path / "lockgate.yaml").write_text(
        "jobs:\n  j:\n    shell: true\n    command: |\n"
        "      cat <<'EOF'\n      {file.path}\n      EOF\n"
    )
    with pytest.raises(ConfigError) as info:
        load_definitions(tmp_path / "lockgate.yaml")
    assert "quoted delimiter" in str(info.value) and "<<EOF" in str(info.value)


def test_a_hash_right_after_a_placeholder_is_part_of_the_word(tmp_path: Path) -> None:
    out = run_script(tmp_path, "printf '[%s]' {file.path}#\"{file.name}\"", "a b")
    assert out == b"[a b#a b]"


# Commands that parse an argument as shell code again: the value still never runs.
REPARSED = [
    ("eval printf \"'[%s]'\" {file.path}", "[{v}]"),
    ("eval \"printf '[%s]' {file.path}\"", "[{v}]"),
    ('eval "printf \'[%s]\' \\"{file.path}\\""', "[{v}]"),
    ("eval 'printf \"[%s]\" {file.path}'", "[{v}]"),
    ('eval \'printf "[%s]" "{file.path}"\'', "[{v}]"),
    ("x=1 eval \"printf '[%s]' {file.path}\"", "[{v}]"),
    ("if true; then eval \"printf '[%s]' {file.path}\"; fi", "[{v}]"),
    ("sh -c \"printf '[%s]' {file.path}\"", "[{v}]"),
    ('sh -e -c \'printf "[%s]" "{file.path}"\'', "[{v}]"),
    ("/bin/sh -c 'printf \"[%s]\" {file.path}'", "[{v}]"),
    ('sh -c \'printf "[%s]" "$1"\' sh {file.path}', "[{v}]"),
    ("sh <<EOF\nprintf '[%s]' {file.path}\nEOF", "[{v}]"),
]


@pytest.mark.parametrize("script,shows", REPARSED)
@pytest.mark.parametrize("value", NASTY)
def test_a_value_in_an_argument_the_shell_parses_again_never_runs(
    tmp_path: Path, script: str, shows: str, value: str
) -> None:
    out = run_script(tmp_path, script, value)
    assert out == os.fsencode(shows.replace("{v}", value))
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(
    "script",
    [
        'eval "$(printf %s {file.path})"',
        "eval `printf %s {file.path}`",
        "sh -c \"$(printf %s '{file.path}')\"",
        'eval "${{UNSET:-{file.path}}}"',
    ],
)
def test_a_placeholder_whose_output_the_shell_parses_again_is_refused(
    tmp_path: Path, script: str
) -> None:
    problem = shell_template_problem(script)
    assert problem is not None and "parses again" in problem
    context = RunContext(run_id=1, trigger={"file": {"path": "$(touch PWNED)"}})
    with pytest.raises(LaunchError, match="parses again"):
        LocalLauncher(state_dir=tmp_path).command_for(shell_job(script), context)


@pytest.mark.parametrize(
    "command",
    [
        ("sh", "-c", "printf '[%s]' {file.path}"),
        ("/bin/sh", "-ec", "printf '[%s]' \"{file.path}\""),
        ("env", "A=1", "sh", "-c", "printf '[%s]' '{file.path}'"),
    ],
)
@pytest.mark.parametrize("value", NASTY)
def test_an_argv_command_running_a_shell_script_gets_its_values_as_variables(
    tmp_path: Path, command: tuple[str, ...], value: str
) -> None:
    context = RunContext(run_id=1, trigger={"file": {"path": value}})
    job = Job(name="j", command=command, shell=False)
    argv, env = LocalLauncher(state_dir=tmp_path).command_for(job, context)
    done = subprocess.run(
        argv, cwd=tmp_path, env={"PATH": os.defpath, **env}, capture_output=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == os.fsencode(f"[{value}]")
    assert not (tmp_path / "PWNED").exists()


def test_an_argv_shell_script_argument_after_the_script_stays_a_plain_value(
    tmp_path: Path,
) -> None:
    context = RunContext(run_id=1, trigger={"file": {"path": "$(touch PWNED)"}})
    job = Job(name="j", command=("sh", "-c", 'printf "[%s]" "$1"', "sh", "{file.path}"))
    argv, env = LocalLauncher(state_dir=tmp_path).command_for(job, context)
    assert argv[-1] == "$(touch PWNED)" and env == {}
    out = subprocess.run(argv, cwd=tmp_path, env={"PATH": os.defpath}, capture_output=True)
    assert out.stdout == b"[$(touch PWNED)]" and not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(
    "script",
    [
        'eval "eval \\"printf %s {file.path}\\""',
        "sh -c 'sh -c \"printf %s {file.path}\"'",
        "eval \"/bin/sh -c 'printf %s {file.path}'\"",
        'sh <<EOF\neval "printf %s {file.path}"\nEOF',
    ],
)
def test_a_placeholder_parsed_by_two_nested_parsers_is_refused(tmp_path: Path, script: str) -> None:
    problem = shell_template_problem(script)
    assert problem is not None and "eval or a shell again" in problem
    context = RunContext(run_id=1, trigger={"file": {"path": "$(touch PWNED)"}})
    with pytest.raises(LaunchError, match="again"):
        LocalLauncher(state_dir=tmp_path).command_for(shell_job(script), context)
