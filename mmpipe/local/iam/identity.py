"""Who signs each request in local mode.

On AWS every Lambda function runs with credentials of its own role, Step Functions calls
services with the state machine's role, and SageMaker stages data with the job's role.
Locally all of them share one process, so the credentials follow the calling context
instead: while a handler runs, every boto3 client signs with that function's role, whatever
client object it uses (module-level caches included, even ones created before the run).
The runner and the stand-in services act, explicitly, as the local operator, the person
running `mmpipe local run`, who may do anything (as an administrator uploading files would).
Step Functions' own service clients are pinned to the state machine's role. A request made
where no one acts (a thread nobody started as anyone) is refused, not signed as the operator.

Credentials come from moto's STS (`AssumeRole` on the roles the synthesized template
declares), so the emulated services see exactly the principal AWS would see.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
from botocore.credentials import Credentials, ReadOnlyCredentials
from botocore.signers import RequestSigner
from s3transfer.futures import BoundedExecutor

OPERATOR_USER = "local-operator"
_ADMIN_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
_CREDENTIAL_SCOPE = re.compile(r"Credential=([A-Z0-9]+)/")


@dataclass(frozen=True)
class Principal:
    """An IAM principal as the services see it."""

    arn: str
    role_name: str | None = None  # None for the operator (an IAM user)

    @property
    def is_operator(self) -> bool:
        return self.role_name is None


class Identities:
    """The credentials issued in this run, and whom each access key belongs to."""

    def __init__(self, region: str) -> None:
        # Clients that sign with the calling context's credentials (see install()).
        self._iam = boto3.client("iam", region_name=region)
        self._sts = boto3.client("sts", region_name=region)
        self._by_key: dict[str, Principal] = {}
        self._by_session: dict[tuple[str, str], ReadOnlyCredentials] = {}
        self._lock = threading.Lock()
        self.operator = self._create_operator()
        use_operator(self.operator)

    def _create_operator(self) -> ReadOnlyCredentials:
        self._iam.create_user(UserName=OPERATOR_USER)
        self._iam.put_user_policy(
            UserName=OPERATOR_USER, PolicyName="AdministratorAccess", PolicyDocument=_ADMIN_POLICY
        )
        key = self._iam.create_access_key(UserName=OPERATOR_USER)["AccessKey"]
        arn = self._iam.get_user(UserName=OPERATOR_USER)["User"]["Arn"]
        self._by_key[key["AccessKeyId"]] = Principal(arn=arn)
        return ReadOnlyCredentials(key["AccessKeyId"], key["SecretAccessKey"], None)

    def assume(self, role_arn: str, session_name: str) -> ReadOnlyCredentials:
        """Credentials of `role_arn` for a session (a function name, the state machine...)."""
        with self._lock:
            cached = self._by_session.get((role_arn, session_name))
            if cached is not None:
                return cached
        # Always as the operator, whoever needs the credentials (a stand-in service, say).
        with acting_as(self.operator):
            answer = self._sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name[:64])
        issued = answer["Credentials"]
        credentials = ReadOnlyCredentials(
            issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"]
        )
        principal = Principal(
            arn=answer["AssumedRoleUser"]["Arn"], role_name=role_arn.rsplit("/", 1)[-1]
        )
        with self._lock:
            self._by_key[credentials.access_key] = principal
            self._by_session[(role_arn, session_name)] = credentials
        return credentials

    def principal_for(self, access_key: str) -> Principal | None:
        return self._by_key.get(access_key)

    @staticmethod
    def access_key_of(headers: Any, query: Any = None) -> str | None:
        """The access key that signed a request (header or presigned query string)."""
        authorization = headers.get("Authorization") or headers.get("authorization") or ""
        found = _CREDENTIAL_SCOPE.search(authorization)
        if found:
            return found.group(1)
        credential = (query or {}).get("X-Amz-Credential")
        if isinstance(credential, list):
            credential = credential[0]
        return str(credential).split("/", 1)[0] if credential else None


# A context variable, not a thread-local: a new thread (moto's, a stand-in service's) starts
# with no one acting. boto3's transfer manager (download_file, upload_file) runs the parts of
# a transfer on its own threads: install() makes those act as the thread that asked.
_acting: contextvars.ContextVar[ReadOnlyCredentials | None] = contextvars.ContextVar(
    "mmpipe_acting_as", default=None
)
# Set once the run's operator exists: from then on, every request needs someone acting.
_operator: list[ReadOnlyCredentials] = []


class Unsigned(RuntimeError):
    """A request made in a context where no one acts: a thread local mode did not start as
    a function, a role or the operator. Refused rather than signed as an administrator."""


def current_credentials() -> ReadOnlyCredentials | None:
    return _acting.get()


@contextlib.contextmanager
def acting_as(credentials: ReadOnlyCredentials) -> Iterator[None]:
    """Sign every request made in this context with `credentials` until the block ends."""
    token = _acting.set(credentials)
    try:
        yield
    finally:
        _acting.reset(token)


class CallerCredentials(Credentials):  # type: ignore[misc]
    """botocore credentials that resolve, at signing time, to whoever acts in this context."""

    def __init__(self) -> None:
        # Not super().__init__: the keys are properties of the calling thread.
        self.method = "mmpipe-local"
        self.account_id = None

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        credentials = current_credentials()
        if credentials is not None:
            return credentials
        if _operator:
            raise Unsigned(
                "an AWS request from a thread no function, role or operator acts "
                "on: local mode will not sign it as an administrator"
            )
        # Setting up, before the operator exists: the usual chain, from the environment.
        environment = botocore.session.Session().get_credentials()
        return environment.get_frozen_credentials()

    @property
    def access_key(self) -> str:
        return str(self.get_frozen_credentials().access_key)

    @property
    def secret_key(self) -> str:
        return str(self.get_frozen_credentials().secret_key)

    @property
    def token(self) -> str | None:
        token = self.get_frozen_credentials().token
        return str(token) if token else None


_originals: dict[str, Any] = {}


class PinnedCredentials(Credentials):  # type: ignore[misc]
    """Credentials a client keeps whoever calls it: Step Functions' own service clients."""


def pin(client: Any, credentials: ReadOnlyCredentials) -> Any:
    """Make `client` sign with `credentials` always (boto3 has no public way to say so)."""
    client._request_signer._credentials = PinnedCredentials(
        credentials.access_key, credentials.secret_key, credentials.token
    )
    return client


_CALLER = CallerCredentials()


def _get_auth_instance(
    self: RequestSigner,
    signing_name: str,
    region_name: str,
    signature_version: str | None = None,
    request_credentials: Any = None,
    **kwargs: Any,
) -> Any:
    if request_credentials is None and not isinstance(self._credentials, PinnedCredentials):
        request_credentials = _CALLER
    return _originals["get_auth_instance"](
        self, signing_name, region_name, signature_version, request_credentials, **kwargs
    )


class _ActingTask:
    """An s3transfer task that runs as whoever submitted it."""

    def __init__(self, task: Any, credentials: ReadOnlyCredentials) -> None:
        self._task, self._credentials = task, credentials

    def __getattr__(self, name: str) -> Any:
        return getattr(self._task, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with acting_as(self._credentials):
            return self._task(*args, **kwargs)


def _submit_acting(self: BoundedExecutor, task: Any, tag: Any = None, block: bool = True) -> Any:
    acting = _acting.get()
    task = _ActingTask(task, acting) if acting is not None else task
    return _originals["submit"](self, task, tag, block)


def install() -> None:
    """Every client signs with the caller's credentials, whenever and however it was created
    (boto3's default session, Powertools' own sessions, a client a handler module cached
    before this run), unless it was pinned. Until an operator is set, the caller is whoever
    the environment says."""
    if "get_auth_instance" not in _originals:
        _originals["get_auth_instance"] = RequestSigner.get_auth_instance
        RequestSigner.get_auth_instance = _get_auth_instance
        _originals["submit"] = BoundedExecutor.submit
        BoundedExecutor.submit = _submit_acting


def use_operator(operator: ReadOnlyCredentials) -> None:
    """Sign as `operator` wherever no function (or stand-in role) acts."""
    _operator.append(operator)


def uninstall() -> None:
    _operator.clear()
    original = _originals.pop("get_auth_instance", None)
    if original is not None:
        RequestSigner.get_auth_instance = original
        BoundedExecutor.submit = _originals.pop("submit")
