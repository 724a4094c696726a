"""The schema's revisions as the migration scripts say, and a previous lockgate release
made from this one, for upgrade tests.

Import it explicitly (``from old_release import ...``). Nothing here names a revision:
the chain is read from the scripts, so a new migration is covered without an edit.

    chain = revision_chain()               # ["0001", ..., head]
    old = previous_release(tmp_path)       # this code, its newest migration taken out
    subprocess.Popen([*old.program, "daemon", "--config", ...], env={**os.environ, **old.env})
"""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path


def revision_chain() -> list[str]:
    """Every revision from the first to the head, in upgrade order."""
    from lockgate.store import migrate

    scripts = migrate._scripts(str(migrate.MIGRATIONS_DIR))
    return [s.revision for s in reversed(list(scripts.walk_revisions()))]


@dataclass(frozen=True)
class OldRelease:
    """A lockgate whose newest revision is ``head`` (the current code's previous one)."""

    path: Path
    head: str

    @property
    def program(self) -> tuple[str, ...]:
        """The command that runs this release's CLI (with :attr:`env`)."""
        return (sys.executable, "-m", "lockgate.cli.main")

    @property
    def env(self) -> dict[str, str]:
        return {"PYTHONPATH": str(self.path), "PYTHONDONTWRITEBYTECODE": "1"}


def previous_release(dest: Path) -> OldRelease:
    """Copy the installed lockgate (with its mapped subpackages) into ``dest`` and take
    out its newest migration script, so its head is the revision before today's."""
    import lockgate
    import lockgate.daemon
    import lockgate.partitions
    import lockgate.sensors
    from lockgate.store import migrate

    chain = revision_chain()
    assert len(chain) >= 2, "an upgrade needs two revisions"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    root = dest / "lockgate"
    shutil.copytree(Path(lockgate.__file__).parent, root, ignore=ignore)
    for sub in (lockgate.partitions, lockgate.sensors, lockgate.daemon):
        name = sub.__name__.rpartition(".")[2]
        if not (root / name).exists():  # a mapped folder beside the package
            shutil.copytree(Path(sub.__file__).parent, root / name, ignore=ignore)
    versions = root / "store" / "migrations" / "versions"
    newest = Path(migrate._scripts(str(migrate.MIGRATIONS_DIR)).get_revision(chain[-1]).path)
    (versions / newest.name).unlink()
    migrate_py = root / "store" / "migrate.py"
    text, count = re.subn(r'^SHIPPED_HEAD = "[^"]+"', f'SHIPPED_HEAD = "{chain[-2]}"',
                          migrate_py.read_text(), flags=re.M)
    assert count == 1, "migrate.py names its head as SHIPPED_HEAD"
    migrate_py.write_text(text)
    return OldRelease(path=dest, head=chain[-2])
