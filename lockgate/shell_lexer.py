"""The shell's quoting context, followed one character at a time, and where a reference goes.

:class:`ShellLexer` reads a ``shell: true`` script's literal text as POSIX sh would
(quotes, ``$(...)``, backticks, ``${...}``, ``$((...))``, comments, here-documents) and,
at each placeholder, writes the variable reference that expands to exactly the value in
that context, or refuses the placeholder where none can (see :mod:`lockgate.shell`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lockgate.context import PlaceholderError
from lockgate.shell_words import STDIN, Words, runs_a_parser

__all__ = ["ShellLexer"]

# Frames of the quoting stack.
_TOP, _CMD, _BQ, _DQ, _SQ, _PARAM, _ARITH, _COMMENT, _HEREDOC = (
    "top",
    "cmd",
    "bq",
    "dq",
    "sq",
    "param",
    "arith",
    "comment",
    "heredoc",
)
_WORD_BREAK = " \t\n;&|()<>"
_LEVELS = (_TOP, _CMD, _BQ)  # frames whose text is commands


@dataclass
class _Frame:
    kind: str
    depth: int = 0  # open parentheses inside a $( ... )
    delimiter: str = ""  # here-document
    quoted: bool = False  # here-document with a quoted delimiter
    strip_tabs: bool = False  # <<-
    line: str = ""  # here-document: the current line so far
    line_has_field: bool = False
    words: Words = field(default_factory=Words)  # command levels: the current command
    reparse: str = ""  # here-document: how its body is parsed again (a shell's script)


class ShellLexer:
    """Tracks the shell's quoting context through a script, one character at a time.

    It follows POSIX sh closely enough to place references; where it could misjudge a
    context (an unbalanced ``case`` pattern inside ``$(...)``), the worst outcome is a
    reference written in the wrong form (word splitting, a literal ``${...}``), never a
    value parsed as shell syntax: values are not in the text it reads.
    """

    def __init__(self) -> None:
        self.stack: list[_Frame] = [_Frame(_TOP)]
        self.escape = False
        self.pending: list[_Frame] = []  # here-documents whose bodies start at a newline
        self.prev = "\n"

    @property
    def frame(self) -> _Frame:
        return self.stack[-1]

    def feed(self, text: str) -> None:
        i = 0
        while i < len(text):
            i = self._step(text, i)

    def _step(self, text: str, i: int) -> int:
        """Read the character at ``i``; return the index of the next one to read."""
        kind = self.frame.kind
        if kind == _HEREDOC:
            return self._heredoc_char(text, i)
        c = text[i]
        if kind != _COMMENT:
            self._track(c)
        if self.escape:
            return self._escaped(c, i)
        if kind == _SQ:
            self._in_single_quotes(c)
            moved = None
        elif kind == _COMMENT:
            moved = self._in_comment(c, i)
        else:
            moved = self._in_code(text, i)
        if moved is not None:
            return moved
        self.prev = c
        return i + 1

    def _escaped(self, c: str, i: int) -> int:
        """The character after a backslash, taken as it is."""
        self.escape = False
        self.prev = "x"
        if self.frame.kind == _DQ and c == '"':
            self.frame.depth += 1  # \" : quotes for a parse to come (eval, sh -c)
        return i + 1

    def _in_single_quotes(self, c: str) -> None:
        if c == "'":
            self.stack.pop()
        elif c == '"':
            self.frame.depth += 1  # quotes for a parse to come (eval, sh -c)

    def _in_comment(self, c: str, i: int) -> int | None:
        if c == "\n":
            self.stack.pop()
            return i  # the newline also ends the command line around the comment
        return None

    def _in_code(self, text: str, i: int) -> int | None:
        """A character outside single quotes and comments.

        Returns the next index to read where the step reads past ``i`` or sets ``prev``
        itself, else None (the caller records the character and moves on by one).
        """
        c = text[i]
        kind = self.frame.kind
        if c == "\\":
            self.escape = True
        elif (kind == _DQ and c == '"') or (kind == _BQ and c == "`"):
            self.stack.pop()
        elif c == "`":
            self.stack.append(_Frame(_BQ))
        elif c == "$" and text.startswith(("$(", "${"), i):
            return self._substitution(text, i)
        elif kind == _PARAM and c == "}":
            self.stack.pop()
        elif kind == _ARITH:
            return self._in_arithmetic(text, i)
        elif kind != _DQ:
            return self._unquoted(text, i)
        return None

    def _substitution(self, text: str, i: int) -> int:
        """``$((``, ``$(`` or ``${`` at ``i``: open its frame, return the index after it."""
        if text.startswith("$((", i):
            self.stack.append(_Frame(_ARITH))
            self.prev = "("
            return i + 3
        if text.startswith("$(", i):
            self.stack.append(_Frame(_CMD))
            self.prev = "("
            return i + 2
        self.stack.append(_Frame(_PARAM))
        return i + 2

    def _in_arithmetic(self, text: str, i: int) -> int | None:
        frame = self.frame
        if text[i] == "(":
            frame.depth += 1
        elif text[i] == ")":
            if frame.depth == 0 and text.startswith("))", i):
                self.stack.pop()
                self.prev = ")"
                return i + 2
            frame.depth -= 1
        return None

    def _unquoted(self, text: str, i: int) -> int | None:
        """A character where quotes, comments, parentheses and here-documents start."""
        c = text[i]
        frame = self.frame
        if c == "'":
            self.stack.append(_Frame(_SQ))
        elif c == '"':
            self.stack.append(_Frame(_DQ))
        elif c == "#" and self.prev in _WORD_BREAK and frame.kind != _PARAM:
            self.stack.append(_Frame(_COMMENT))
        elif frame.kind == _CMD and c == "(":
            frame.depth += 1
        elif frame.kind == _CMD and c == ")":
            if frame.depth == 0:
                self.stack.pop()
            else:
                frame.depth -= 1
        elif c == "<" and text.startswith("<<", i) and not text.startswith("<<<", i):
            return self._heredoc_operator(text, i)
        elif c == "\n" and self.pending:
            self.prev = "\n"
            self.stack.append(self.pending.pop(0))
            return i + 1
        return None

    def _track(self, c: str) -> None:
        """Follow the words of the command at the innermost command level."""
        words = self._level().words
        if self.frame.kind not in _LEVELS or self.escape:
            words.add(c)
        elif c in " \t<>":
            words.end_word()
        elif c in ";&|()\n":
            words.end_command()
        else:
            words.add(c)

    def _level(self) -> _Frame:
        return next(f for f in reversed(self.stack) if f.kind in _LEVELS)

    def _heredoc_operator(self, text: str, i: int) -> int:
        reparse = STDIN if self._level().words.reads_script() else ""
        i += 2
        strip = text.startswith("-", i)
        if strip:
            i += 1
        while i < len(text) and text[i] in " \t":
            i += 1
        word, quoted, quote = [], False, ""
        while i < len(text):
            c = text[i]
            if quote:
                if c == quote:
                    quote = ""
                else:
                    word.append(c)
            elif c in "'\"":
                quote, quoted = c, True
            elif c == "\\" and i + 1 < len(text):
                quoted = True
                i += 1
                word.append(text[i])
            elif c in _WORD_BREAK:
                break
            else:
                word.append(c)
            i += 1
        self.pending.append(
            _Frame(
                _HEREDOC,
                delimiter="".join(word),
                quoted=quoted,
                strip_tabs=strip,
                reparse=reparse,
            )
        )
        self.prev = "x"
        return i

    def _heredoc_char(self, text: str, i: int) -> int:
        frame = self.frame
        c = text[i]
        if c != "\n":
            if self.escape:
                self.escape = False
            elif c == "\\" and not frame.quoted:
                self.escape = True
            frame.line += c
            return i + 1
        self.escape = False
        line = frame.line.lstrip("\t") if frame.strip_tabs else frame.line
        if line == frame.delimiter and not frame.line_has_field:
            self.stack.pop()
            if self.pending:
                self.stack.append(self.pending.pop(0))
        frame.line, frame.line_has_field = "", False
        self.prev = "\n"
        return i + 1

    def reference(self, name: str, placeholder: str) -> str:
        """The text that expands to variable ``name`` exactly, where the lexer stands."""
        frame = self.frame
        self.prev = "x"  # a reference is a word's text: a `#` right after it is no comment
        if self.escape:
            raise PlaceholderError(
                f"placeholder {{{placeholder}}} follows a backslash, which would escape "
                "part of its value; remove the backslash (the value arrives intact)"
            )
        if frame.kind == _HEREDOC:
            if frame.quoted:
                raise PlaceholderError(
                    f"placeholder {{{placeholder}}} is in a here-document with a quoted "
                    f"delimiter (<<'{frame.delimiter}'), where the shell expands nothing; "
                    f"write <<{frame.delimiter} without quotes, or read the value from a "
                    "LOCKGATE_* environment variable"
                )
            frame.line_has_field = True
            self._outer_levels_keep(placeholder)
            if frame.reparse and runs_a_parser(frame.line):
                raise PlaceholderError(
                    f"placeholder {{{placeholder}}} is on a line of {frame.reparse} that runs "
                    "eval or a shell again, which would parse its value as shell code; call "
                    "the inner command directly with the placeholder as its argument"
                )
            if frame.reparse:  # the body is a shell's script: pass the reference on
                return '"\\${' + name + '}"'
            return "${" + name + "}"
        if frame.kind == _ARITH:
            raise PlaceholderError(
                f"placeholder {{{placeholder}}} is inside $((...)) arithmetic, which would "
                "evaluate its value as an expression; assign it first, e.g. "
                f'n="{{{placeholder}}}"; echo $((n + 1))'
            )
        self._outer_levels_keep(placeholder)
        words = self._level().words
        how = words.reparse()
        if how and words.parsed_twice():
            raise PlaceholderError(
                f"placeholder {{{placeholder}}} is in {how} that runs eval or a shell again, "
                "which would parse its value as shell code; call the inner command directly "
                "with the placeholder as its argument"
            )
        if how:
            return self._passed_on(name, placeholder, how)
        if frame.kind == _SQ:
            return "'\"${" + name + "}\"'"
        if frame.kind == _DQ or (frame.kind == _PARAM and self._in_double_quotes()):
            return "${" + name + "}"
        return '"${' + name + '}"'

    def _passed_on(self, name: str, placeholder: str, how: str) -> str:
        """A reference that the outer shell turns into ``"${name}"``, for ``how``'s parse."""
        ref = "${" + name + "}"
        kind = self.frame.kind
        inner_quoted = self.frame.depth % 2 == 1  # the user's quotes for the parse to come
        if kind == _SQ:
            return ref if inner_quoted else '"' + ref + '"'
        if kind == _DQ:
            return "\\" + ref if inner_quoted else '\\"\\' + ref + '\\"'
        if kind in _LEVELS:
            return "'\"" + ref + "\"'"
        raise PlaceholderError(
            f"placeholder {{{placeholder}}} is inside ${{...}} in {how}, which the shell "
            "parses again, so its value would run as shell code; write the placeholder "
            "outside ${...}"
        )

    def _outer_levels_keep(self, placeholder: str) -> None:
        """Refuse a placeholder in a command substitution whose output is parsed again."""
        levels = [f for f in self.stack if f.kind in _LEVELS]
        for outer in levels[:-1]:
            how = outer.words.reparse()
            if how:
                raise PlaceholderError(
                    f"placeholder {{{placeholder}}} is inside $(...) or backticks whose "
                    f"output is {how}, which the shell parses again, so its value would "
                    "run as shell code; write the placeholder directly in the argument, "
                    "outside the substitution"
                )

    def _in_double_quotes(self) -> bool:
        for frame in reversed(self.stack):
            if frame.kind == _DQ:
                return True
            if frame.kind in (_CMD, _BQ, _TOP):
                return False
        return False
