"""Every mistake a user can make, answered in one line: what is wrong, and what to do.

``edgesense --debug …`` raises instead, for the traceback. Exit codes: 2 for what the
user can fix (input, options, setup), 1 for anything else.
"""

from __future__ import annotations

import sys

LOCAL_AWS = 'eval "$(edgesense local env)" reaches the embedded AWS of `make airflow`'


class UsageError(Exception):
    """Input the user can fix; the message says what is wrong and what to do."""


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def explain(exc: BaseException) -> tuple[str, int]:
    """The one line to print for ``exc``, and the exit code."""
    if isinstance(exc, UsageError):
        return str(exc), 2
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.strerror or first_line(exc)}: {exc.filename}", 2
    aws = _explain_aws(exc)
    if aws is not None:
        return aws
    duckdb = sys.modules.get("duckdb")
    if duckdb is not None and isinstance(exc, duckdb.Error):
        return f"DuckDB: {first_line(exc)} (run again with --debug for the traceback)", 1
    return (
        f"{type(exc).__name__}: {first_line(exc)} (an internal error: run again with --debug for the "
        "traceback, and report it)",
        1,
    )


def _explain_aws(exc: BaseException) -> tuple[str, int] | None:
    """botocore's errors in words; None if ``exc`` is not one (botocore is imported only if used)."""
    errors = sys.modules.get("botocore.exceptions")
    if errors is None:
        return None
    if isinstance(exc, errors.NoRegionError):
        return f"no AWS region is set: export AWS_DEFAULT_REGION (e.g. us-east-1), or {LOCAL_AWS}", 2
    if isinstance(exc, errors.NoCredentialsError | errors.PartialCredentialsError):
        return f"no AWS credentials were found: export AWS_PROFILE or AWS_ACCESS_KEY_ID/…, or {LOCAL_AWS}", 2
    if isinstance(exc, errors.EndpointConnectionError):
        return (
            f"cannot reach {exc.kwargs.get('endpoint_url', 'the AWS endpoint')}: if AWS_ENDPOINT_URL points "
            "at an embedded AWS, it has stopped (start `make airflow`, then "
            'eval "$(edgesense local env)" again)',
            2,
        )
    if isinstance(exc, errors.ClientError):
        err = exc.response.get("Error", {})
        code, message = err.get("Code", "?"), err.get("Message", "")
        what = f"AWS {exc.operation_name} failed: {code}: {message}".rstrip(": ")
        if code in ("ResourceNotFoundException", "NoSuchBucket", "NoSuchKey", "404"):
            return f"{what} (check --table / --bucket, or the EDGESENSE_* variable that gives its default)", 2
        if code in ("403", "AccessDenied", "AccessDeniedException", "UnrecognizedClientException",
                    "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "InvalidAccessKeyId",
                    "SignatureDoesNotMatch"):  # fmt: skip
            return f"{what} (check which AWS credentials and account are in use)", 2
        return what, 1
    if isinstance(exc, errors.BotoCoreError):
        return f"AWS: {first_line(exc)}", 1
    return None
