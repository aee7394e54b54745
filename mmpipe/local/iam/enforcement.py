"""Authorize every request the emulated services receive, as AWS would.

Installed by `moto_patches` in place of moto's own check (which denies any statement with a
Condition and compares only actions): the request's signer is looked up in `Identities`,
the permissions it needs come from `requests.permissions_for`, plus the KMS permissions the
service needs on the caller's behalf (SSE-KMS objects, KMS-encrypted queues, a state machine
encrypted with a customer managed key), and the signer's policies are read from moto's IAM,
where local mode created them from the synthesized template. A refusal is the service's own
AccessDenied, with AWS's sentence naming the action and the resource.

S3 also answers 403 instead of 404 for a missing key when the caller may not list the
bucket, as AWS documents for GetObject and HeadObject.

About 330 lines, kept whole on purpose: `Enforcement.authorize` is one decision (who signs,
what they need, which keys the service touches for them, what the policies say), and its
helpers only read the request for it; refusals.py holds what a refusal looks like.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from moto.core.exceptions import InvalidClientTokenIdError
from moto.iam.models import iam_backends

from mmpipe.local.iam.identity import Identities, Principal
from mmpipe.local.iam.policies import Decision, Denials, Permission, evaluate
from mmpipe.local.iam.refusals import JSON_DENIALS, AccessDeniedResponse, Refusal, s3_error
from mmpipe.local.iam.requests import AwsRequest, json_params, permissions_for
from mmpipe.local.template import ACCOUNT_ID, REGION

log = logging.getLogger(__name__)


@dataclass
class KmsKeys:
    """Which KMS key protects what, read from the synthesized template."""

    buckets: dict[str, str] = field(default_factory=dict)  # bucket name -> key ARN
    queues: dict[str, str] = field(default_factory=dict)  # queue ARN -> key ARN
    state_machines: dict[str, str] = field(default_factory=dict)  # state machine ARN -> key


@dataclass
class Enforcement:
    """The run's IAM: identities, SCP-like denials, keys, and a ledger of refusals."""

    identities: Identities
    denials: Denials = field(default_factory=Denials)
    keys: KmsKeys = field(default_factory=KmsKeys)
    token_owner: str | None = None  # the state machine that issues task tokens
    ledger: Path | None = None
    refusals: list[Refusal] = field(default_factory=list)
    unmapped: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _policy_cache: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)

    # --- the moto hook ------------------------------------------------------------------

    def authorize(self, response: Any, resource: str) -> None:
        """Called for every request moto serves; raises the service's refusal."""
        key = Identities.access_key_of(response.headers, getattr(response, "querystring", {}))
        principal = self.identities.principal_for(key) if key else None
        if principal is None:
            raise InvalidClientTokenIdError()
        _caller.principal = principal
        if principal.is_operator:
            return
        request = self._describe(response, resource)
        for permission in self._needs(request):
            decision = self.decide(principal, permission)
            if not decision.allowed:
                raise self._refuse(principal, permission, decision, request)
        if request.service == "s3":
            self._missing_key_is_forbidden(principal, request)

    def decide(self, principal: Principal, permission: Permission) -> Decision:
        if principal.is_operator:
            return Decision.ALLOWED
        if self.denials.deny(permission.action):
            return Decision.DENIED_BY_SCP
        if permission.resource is None:
            # Not known locally: any statement naming the action counts.
            permission = Permission(permission.action, "*", permission.context)
            policies = [_resource_wildcard(p) for p in self._policies(principal)]
            return evaluate(policies, permission)
        return evaluate(self._policies(principal), permission)

    def require(self, principal: Principal, permission: Permission, operation: str) -> None:
        """For stand-in services that act with their caller's permissions (Transcribe reading
        the media, SageMaker staging data): refuse as the service would."""
        decision = self.decide(principal, permission)
        if not decision.allowed:
            refusal = Refusal(principal.arn, permission, decision, operation)
            self._record(refusal)
            raise PermissionError(refusal.message)

    def require_object_access(
        self, principal: Principal, action: str, bucket: str, key: str, operation: str
    ) -> None:
        """For a service that reads (s3:GetObject) or writes (s3:PutObject) an object with its
        caller's permissions: what S3 would ask of that caller, KMS included."""
        request = AwsRequest(
            service="s3",
            operation=action.removeprefix("s3:"),
            params={},
            region=REGION,
            account=ACCOUNT_ID,
            headers={},
            method="PUT" if action == "s3:PutObject" else "GET",
            resource=f"arn:aws:s3:::{bucket}/{key}",
        )
        for permission in self._needs(request):
            self.require(principal, permission, operation)

    # --- what a request needs -------------------------------------------------------------

    def _describe(self, response: Any, resource: str) -> AwsRequest:
        scope = _credential_scope(response.headers)
        service = scope[3] if len(scope) > 3 else str(response.service_name)
        region = scope[2] if len(scope) > 2 else str(response.region)
        if service == "s3":
            operation = str(response.data.get("Action", ""))
            params: dict[str, Any] = {
                k: v[0] if isinstance(v, list) and v else v
                for k, v in parse_qs(urlparse(response.uri).query, keep_blank_values=True).items()
            }
        else:
            operation = response._get_action()
            params = json_params(response.body)
            params.update(getattr(response, "uri_match", None) or {})
        return AwsRequest(
            service=service,
            operation=operation,
            params=params,
            region=region,
            account=str(response.current_account),
            headers=dict(response.headers),
            method=str(response.method),
            resource=resource if service == "s3" else None,
            token_owner=self.token_owner,
        )

    def _needs(self, request: AwsRequest) -> list[Permission]:
        needs = permissions_for(request)
        if any(p.resource is None for p in needs):
            with self._lock:
                self.unmapped.add(f"{request.service}:{request.operation}")
        return needs + list(self._kms_needs(request, needs))

    def _kms_needs(self, request: AwsRequest, needs: list[Permission]) -> Iterator[Permission]:
        via = {
            "kms:ViaService": f"{request.service}.{request.region}.amazonaws.com",
            "kms:CallerAccount": request.account,
        }
        if request.service == "s3":
            for need in needs:
                bucket = (need.resource or "").removeprefix("arn:aws:s3:::").split("/", 1)[0]
                key = self.keys.buckets.get(bucket)
                if key and need.action == "s3:PutObject":
                    yield Permission("kms:GenerateDataKey", key, via)
                    if {"uploads", "uploadId"} & set(request.params):
                        # A multipart upload reads the data key back for every part.
                        yield Permission("kms:Decrypt", key, via)
                elif (
                    key
                    and need.action in ("s3:GetObject", "s3:GetObjectVersion")
                    and request.method != "HEAD"
                ):  # HEAD reads metadata only
                    yield Permission("kms:Decrypt", key, via)
        elif request.service == "sqs":
            for need in needs:
                key = self.keys.queues.get(need.resource or "")
                if key and need.action == "sqs:SendMessage":
                    # SQS documents both for producers to an encrypted queue.
                    yield Permission("kms:GenerateDataKey", key, via)
                    yield Permission("kms:Decrypt", key, via)
                elif key and need.action == "sqs:ReceiveMessage":
                    yield Permission("kms:Decrypt", key, via)
        elif request.service == "states":
            # A state machine encrypted with a customer managed key: its callers encrypt the
            # input and task results, and decrypt what they read back.
            machine = self._state_machine_of(request)
            key = self.keys.state_machines.get(machine or "")
            if key is None:
                return
            context = {**via, "kms:EncryptionContext:aws:states:stateMachineArn": str(machine)}
            if request.operation in (
                "StartExecution",
                "StartSyncExecution",
                "SendTaskSuccess",
                "SendTaskFailure",
            ):
                yield Permission("kms:GenerateDataKey", key, context)
            if request.operation in (
                "DescribeExecution",
                "GetExecutionHistory",
                "StartSyncExecution",
            ):
                yield Permission("kms:Decrypt", key, context)

    def _state_machine_of(self, request: AwsRequest) -> str | None:
        params = request.params
        if "stateMachineArn" in params:
            return str(params["stateMachineArn"])
        if "executionArn" in params:
            # arn:aws:states:region:account:execution:machine:name
            parts = str(params["executionArn"]).split(":")
            return ":".join([*parts[:5], "stateMachine", parts[6]]) if len(parts) > 6 else None
        if "taskToken" in params:
            return self.token_owner
        return None

    # --- S3: 403 rather than 404 without s3:ListBucket -----------------------------------

    def _missing_key_is_forbidden(self, principal: Principal, request: AwsRequest) -> None:
        if request.operation not in ("GetObject", "GetObjectVersion") or not request.resource:
            return
        bucket, _, key = request.resource.removeprefix("arn:aws:s3:::").partition("/")
        if not key or stored_size(bucket, unquote(key)) is not None:
            return
        listing = Permission("s3:ListBucket", f"arn:aws:s3:::{bucket}")
        decision = self.decide(principal, listing)
        if not decision.allowed:
            raise self._refuse(principal, listing, decision, request)

    # --- refusing -------------------------------------------------------------------------

    def _refuse(
        self, principal: Principal, permission: Permission, decision: Decision, request: AwsRequest
    ) -> Exception:
        refusal = Refusal(principal.arn, permission, decision, request.operation)
        self._record(refusal)
        if request.service == "s3":
            return s3_error(refusal)
        return AccessDeniedResponse(JSON_DENIALS.get(request.service, 400), refusal)

    def _record(self, refusal: Refusal) -> None:
        with self._lock:
            self.refusals.append(refusal)
            if self.ledger is not None:
                with self.ledger.open("a", encoding="utf-8") as stream:
                    stream.write(
                        json.dumps(
                            {
                                "principal": refusal.principal,
                                "action": refusal.permission.action,
                                "resource": refusal.permission.resource,
                                "operation": refusal.operation,
                                "decision": refusal.decision.name,
                                "message": refusal.message,
                            }
                        )
                        + "\n"
                    )

    def _policies(self, principal: Principal) -> list[Mapping[str, Any]]:
        role_name = str(principal.role_name)
        with self._lock:
            cached = self._policy_cache.get(role_name)
        if cached is None:
            cached = self._load_policies(role_name)
            with self._lock:
                self._policy_cache[role_name] = cached
        return cached

    @staticmethod
    def _load_policies(role_name: str) -> list[Mapping[str, Any]]:
        """The role's policies as deployed (they do not change during a run)."""
        backend = iam_backends[ACCOUNT_ID]["aws"]
        documents: list[Mapping[str, Any]] = []
        for name in backend.list_role_policies(role_name):
            _, document = backend.get_role_policy(role_name, name)
            documents.append(_document(document))
        attached, _ = backend.list_attached_role_policies(role_name)
        for policy in attached:
            version = next(v for v in policy.versions if v.is_default)
            documents.append(_document(version.document))
        return documents


class _Caller(threading.local):
    principal: Principal | None = None


# The principal of the request being served on this thread: stand-in services that act with
# their caller's permissions (Transcribe, SageMaker) read it.
_caller = _Caller()


def current_principal() -> Principal | None:
    return _caller.principal


def _document(raw: Any) -> Mapping[str, Any]:
    if isinstance(raw, str):
        parsed: Mapping[str, Any] = json.loads(unquote(raw) if raw.startswith("%7B") else raw)
        return parsed
    return dict(raw)


def _resource_wildcard(document: Mapping[str, Any]) -> Mapping[str, Any]:
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    return {
        "Statement": [
            {k: v for k, v in s.items() if k not in ("Resource", "NotResource")} | {"Resource": "*"}
            for s in statements
        ]
    }


def _credential_scope(headers: Mapping[str, str]) -> list[str]:
    authorization = headers.get("Authorization") or headers.get("authorization") or ""
    scope = authorization.partition("Credential=")[2].partition(",")[0]
    return scope.split("/")


def stored_size(bucket: str, key: str) -> int | None:
    """The size of an object in the emulated S3, or None when there is none (for the checks a
    service makes on an object before it acts: exists, how large)."""
    from moto.s3.models import s3_backends  # noqa: PLC0415

    try:
        found = s3_backends[ACCOUNT_ID]["aws"].get_object(bucket, key)
    except Exception:  # moto raises several "missing" types
        return None
    return int(found.size) if found is not None else None
