"""Identity-based policy evaluation, case by case against the IAM documentation."""

from __future__ import annotations

from typing import Any

import pytest

from mmpipe.local.iam.policies import Decision, Denials, Permission, evaluate, is_action_name

BUCKET = "arn:aws:s3:::ingest"


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


@pytest.mark.parametrize(
    ("granted", "asked", "decision"),
    [
        pytest.param("s3:GetObject", "s3:GetObject", Decision.ALLOWED, id="exact"),
        pytest.param("S3:getobject", "s3:GetObject", Decision.ALLOWED, id="actions-ignore-case"),
        pytest.param("s3:Get*", "s3:GetObjectVersion", Decision.ALLOWED, id="action-wildcard"),
        pytest.param("s3:GetObject", "s3:PutObject", Decision.IMPLICIT_DENY, id="other-action"),
        pytest.param("s3:Get?bject", "s3:GetObject", Decision.ALLOWED, id="question-mark"),
    ],
)
def test_actions_match_case_insensitively_with_wildcards(granted, asked, decision) -> None:
    policy = _policy(_allow(granted, f"{BUCKET}/*"))
    assert evaluate([policy], Permission(asked, f"{BUCKET}/incoming/a.png")) is decision


@pytest.mark.parametrize(
    ("resource", "decision"),
    [
        pytest.param(f"{BUCKET}/incoming/a.png", Decision.ALLOWED, id="under-the-prefix"),
        pytest.param(f"{BUCKET}/INCOMING/a.png", Decision.IMPLICIT_DENY, id="resources-keep-case"),
        pytest.param(f"{BUCKET}/work/a.png", Decision.IMPLICIT_DENY, id="other-prefix"),
        pytest.param("arn:aws:s3:::ingest-2/incoming/a", Decision.IMPLICIT_DENY, id="other-bucket"),
        pytest.param("*", Decision.IMPLICIT_DENY, id="unscoped-action-needs-a-star-grant"),
    ],
)
def test_resources_match_case_sensitively(resource: str, decision: Decision) -> None:
    policy = _policy(_allow("s3:GetObject", f"{BUCKET}/incoming/*"))
    assert evaluate([policy], Permission("s3:GetObject", resource)) is decision


def test_an_explicit_deny_wins_over_any_allow() -> None:
    allow = _policy(_allow("s3:*", "*"))
    deny = _policy({"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"})
    assert evaluate([allow, deny], Permission("s3:DeleteObject", f"{BUCKET}/k")) is (
        Decision.EXPLICIT_DENY
    )
    assert evaluate([allow, deny], Permission("s3:GetObject", f"{BUCKET}/k")) is Decision.ALLOWED


def test_not_action_and_not_resource() -> None:
    policy = _policy({"Effect": "Allow", "NotAction": "iam:*", "NotResource": f"{BUCKET}/x"})
    assert evaluate([policy], Permission("s3:GetObject", f"{BUCKET}/y")).allowed
    assert not evaluate([policy], Permission("iam:PassRole", "arn:aws:iam::1:role/r")).allowed
    assert not evaluate([policy], Permission("s3:GetObject", f"{BUCKET}/x")).allowed


class TestConditions:
    """Keys ANDed, values ORed, a missing key fails unless negated, IfExists or Null."""

    prefix = _policy(
        _allow(
            "s3:ListBucket",
            BUCKET,
            Condition={"StringLike": {"s3:prefix": ["incoming/*", "work/*"]}},
        )
    )

    def test_a_value_that_matches_one_of_the_values(self) -> None:
        asked = Permission("s3:ListBucket", BUCKET, {"s3:prefix": "work/item/"})
        assert evaluate([self.prefix], asked).allowed

    def test_a_value_that_matches_none(self) -> None:
        asked = Permission("s3:ListBucket", BUCKET, {"s3:prefix": "results/"})
        assert not evaluate([self.prefix], asked).allowed

    def test_a_missing_key_fails_the_condition(self) -> None:
        # As S3 does for the implicit ListBucket of a GetObject on a missing key.
        assert not evaluate([self.prefix], Permission("s3:ListBucket", BUCKET)).allowed

    def test_negated_operators_and_if_exists_pass_on_a_missing_key(self) -> None:
        negated = _policy(
            _allow("s3:ListBucket", BUCKET, Condition={"StringNotLike": {"s3:prefix": "secret/*"}})
        )
        if_exists = _policy(
            _allow(
                "s3:ListBucket",
                BUCKET,
                Condition={"StringLikeIfExists": {"s3:prefix": "incoming/*"}},
            )
        )
        assert evaluate([negated], Permission("s3:ListBucket", BUCKET)).allowed
        assert evaluate([if_exists], Permission("s3:ListBucket", BUCKET)).allowed

    def test_every_key_and_operator_must_hold(self) -> None:
        both = _policy(
            _allow(
                "iam:PassRole",
                "*",
                Condition={
                    "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"},
                    "Bool": {"aws:SecureTransport": "true"},
                },
            )
        )
        sagemaker = {"iam:PassedToService": "sagemaker.amazonaws.com"}
        assert not evaluate([both], Permission("iam:PassRole", "arn:r", sagemaker)).allowed
        assert evaluate(
            [both],
            Permission("iam:PassRole", "arn:r", {**sagemaker, "aws:SecureTransport": "true"}),
        ).allowed

    def test_condition_keys_ignore_case(self) -> None:
        policy = _policy(
            _allow(
                "iam:PassRole",
                "*",
                Condition={"StringEquals": {"IAM:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        asked = Permission(
            "iam:PassRole", "arn:r", {"iam:passedtoservice": "sagemaker.amazonaws.com"}
        )
        assert evaluate([policy], asked).allowed

    def test_an_unknown_operator_fails_closed_both_ways(self) -> None:
        # An Allow the emulation cannot judge does not allow; a Deny it cannot judge denies.
        condition = {"DateGreaterThan": {"aws:CurrentTime": "2020"}}
        allow = _policy(_allow("s3:GetObject", "*", Condition=condition))
        deny = _policy(
            _allow("s3:*", "*"),
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*", "Condition": condition},
        )
        asked = Permission("s3:GetObject", f"{BUCKET}/k", {"aws:CurrentTime": "2026"})
        assert evaluate([allow], asked) is Decision.IMPLICIT_DENY
        assert evaluate([deny], asked) is Decision.EXPLICIT_DENY


class TestMultivaluedKeys:
    """IAM negates per value, then applies ForAllValues or ForAnyValue."""

    @staticmethod
    def _decide(operator: str, tags: list[str] | None) -> Decision:
        policy = _policy(
            _allow("s3:PutObjectTagging", "*", Condition={operator: {"aws:TagKeys": ["a"]}})
        )
        context = {} if tags is None else {"aws:TagKeys": tags}
        return evaluate([policy], Permission("s3:PutObjectTagging", f"{BUCKET}/k", context))

    @pytest.mark.parametrize(
        ("operator", "tags", "allowed"),
        [
            ("ForAllValues:StringEquals", ["a"], True),
            ("ForAllValues:StringEquals", ["a", "x"], False),
            ("ForAllValues:StringEquals", None, True),  # an absent key: every value matches
            ("ForAllValues:StringNotEquals", ["x", "y"], True),
            ("ForAllValues:StringNotEquals", ["a", "x"], False),
            ("ForAnyValue:StringEquals", ["a", "x"], True),
            ("ForAnyValue:StringEquals", ["x"], False),
            ("ForAnyValue:StringEquals", None, False),  # nothing to match
            ("ForAnyValue:StringNotEquals", ["a", "x"], True),
            ("ForAnyValue:StringNotEquals", ["a"], False),
            ("ForAnyValue:StringNotEquals", None, False),
        ],
    )
    def test_set_operators(self, operator: str, tags: list[str] | None, allowed: bool) -> None:
        assert self._decide(operator, tags).allowed is allowed


def test_denials_behave_like_an_scp_with_iam_wildcards() -> None:
    denials = Denials(frozenset({"transcribe:Start*", "bedrock:InvokeModel"}))
    assert denials.deny("transcribe:StartTranscriptionJob")
    assert denials.deny("BEDROCK:invokemodel")
    assert not denials.deny("transcribe:GetTranscriptionJob")


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("s3:GetObject", True),
        ("transcribe:Start*", True),
        ("s3", False),
        ("s3:Get Object", False),
        ("arn:aws:s3:::b", False),
    ],
)
def test_action_names(text: str, valid: bool) -> None:
    assert is_action_name(text) is valid
