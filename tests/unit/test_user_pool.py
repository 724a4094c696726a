"""User code that raises SystemExit, KeyboardInterrupt or GeneratorExit fails its call;
the waiter (the daemon's sensor or schedule loop) gets an ordinary exception."""

from __future__ import annotations

import pytest

from lockgate.daemon.user_pool import UserCodePool, UserCodeRaised


def _raise(exc: BaseException) -> None:
    raise exc


@pytest.mark.parametrize(
    ("exc", "says"),
    [
        (SystemExit(3), "SystemExit: 3"),
        (KeyboardInterrupt(), "KeyboardInterrupt"),
        (GeneratorExit("gone"), "GeneratorExit: gone"),
    ],
)
def test_a_base_exception_from_user_code_is_an_ordinary_failure(
    exc: BaseException, says: str
) -> None:
    pool = UserCodePool(1)
    try:
        with pytest.raises(UserCodeRaised, match=says) as info:
            pool.call(_raise, exc, timeout=10)
        assert isinstance(info.value, Exception) and info.value.__cause__ is exc
        assert pool.call(lambda: 5, timeout=10) == 5  # the thread still serves calls
    finally:
        pool.shutdown()
