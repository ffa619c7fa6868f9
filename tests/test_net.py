"""The one retry policy (gate.net.retrying): every wait bounded."""

from __future__ import annotations

from tenacity import RetryCallState

from gate.net import MAX_RETRY_AFTER, Retryable, retrying


def _wait(attempt: int, backoff: float, retry_after: float | None = None) -> float:
    policy = retrying(10, backoff)
    state = RetryCallState(policy, None, (), {})
    state.attempt_number = attempt
    state.set_exception((Retryable, Retryable("503", retry_after=retry_after), None))
    return float(policy.wait(state))


def test_exponential_backoff_is_capped() -> None:
    # 1 s doubled nine times would be 256-768 s before the tenth try
    assert all(_wait(attempt, 1.0) <= MAX_RETRY_AFTER for attempt in range(1, 11))
    assert 0.5 <= _wait(1, 1.0) <= 1.5
    assert _wait(10, 30.0) == MAX_RETRY_AFTER


def test_retry_after_lengthens_the_wait_up_to_the_cap() -> None:
    assert _wait(1, 0.01, retry_after=5) == 5
    assert _wait(1, 0.01, retry_after=3600) == MAX_RETRY_AFTER
