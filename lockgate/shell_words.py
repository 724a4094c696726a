"""The words of the simple command a ``shell: true`` placeholder stands in.

Some commands parse their arguments as shell code again: ``eval`` (every argument),
``sh -c`` and its kin (the script after ``-c``), and a shell reading a here-document
as its script (``sh <<EOF``). A variable reference in such an argument would be
expanded by the outer shell and its value parsed by the inner one, so there
:mod:`lockgate.shell` writes the reference so that the outer shell passes the
*reference* on and the inner parse expands it (the variables are exported, so a child
shell has them too).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

__all__ = ["EVAL", "SCRIPT", "STDIN", "Words", "runs_a_parser", "script_argument"]

SHELLS = {"sh", "bash", "dash", "ksh", "mksh", "zsh", "ash", "busybox", "posh", "yash"}
# Words that come before the command they run (keywords and wrappers).
_PREFIXES = {
    "if", "then", "else", "elif", "do", "while", "until", "!", "{", "time",
    "exec", "command", "builtin", "nohup", "sudo", "env", "nice", "setsid",
}  # fmt: skip
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_DASH_C = re.compile(r"^-[A-Za-z]*c[A-Za-z]*$")
_NESTED = re.compile(r"(?<![\w.-])(eval|" + "|".join(sorted(SHELLS)) + r")(?![\w.-])")

EVAL, SCRIPT, STDIN = "eval", "a -c script", "a shell's script on its standard input"


def runs_a_parser(text: str) -> bool:
    """Whether ``text`` names ``eval`` or a shell as a word."""
    return _NESTED.search(text) is not None


@dataclass
class Words:
    """The words so far of the current simple command at one command level."""

    done: list[str] = field(default_factory=list)
    word: str = ""
    started: bool = False

    def add(self, c: str) -> None:
        if c not in "'\"\\":
            self.word += c
        self.started = True

    def end_word(self) -> None:
        if self.started:
            self.done.append(self.word)
        self.word, self.started = "", False

    def end_command(self) -> None:
        self.end_word()
        self.done = []

    def _command(self) -> int | None:
        for i, word in enumerate(self.done):
            if word not in _PREFIXES and not _ASSIGNMENT.match(word):
                return i
        return None

    def reparse(self) -> str | None:
        """How the word being written is parsed again (EVAL, SCRIPT), or None."""
        at = self._command()
        if at is None:
            return None
        name = os.path.basename(self.done[at])
        here = len(self.done)
        if name == "eval":
            return EVAL
        if name in SHELLS:
            for i in range(at + 1, here):
                if _DASH_C.match(self.done[i]):
                    return SCRIPT if here == i + 1 else None
        return None

    def parsed_twice(self) -> bool:
        """Whether the argument being written runs yet another parse (``eval "eval ..."``,
        ``sh -c "sh -c ..."``), which one passed-on reference cannot survive."""
        at = self._command()
        text = " ".join([*self.done[(at or 0) + 1 :], self.word])
        return runs_a_parser(text)

    def reads_script(self) -> bool:
        """Whether this command is a shell that reads its script from standard input."""
        words = [*self.done, *([self.word] if self.started else [])]
        at = next(
            (i for i, w in enumerate(words) if w not in _PREFIXES and not _ASSIGNMENT.match(w)),
            None,
        )
        if at is None or os.path.basename(words[at]) not in SHELLS:
            return False
        return not any(_DASH_C.match(w) for w in words[at + 1 :])


def script_argument(argv: tuple[str, ...] | list[str]) -> int | None:
    """The index of the shell script in an argv command (``["sh", "-c", SCRIPT, ...]``,
    also after ``env``, ``nohup`` and assignments), or None: its placeholders need
    :func:`lockgate.shell.render_shell`, as a ``shell: true`` command's do."""
    words = Words(done=list(argv))
    at = words._command()
    if at is None or os.path.basename(argv[at]) not in SHELLS:
        return None
    for i in range(at + 1, len(argv) - 1):
        if _DASH_C.match(argv[i]):
            return i + 1
        if not argv[i].startswith("-"):
            return None
    return None
