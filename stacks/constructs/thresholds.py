"""Quality thresholds as SSM parameters, so operators can tune gates without a redeploy."""

from __future__ import annotations

from aws_cdk import Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from pipeline.config import Thresholds
from stacks.constructs.grants import iam_acknowledgment


class ThresholdParameters(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, thresholds: Thresholds) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # A path derived from the stack name keeps two deployments in one account apart.
        self.path = f"/{stack.stack_name}/thresholds"
        self.parameters = [
            ssm.StringParameter(
                self,
                name,
                parameter_name=f"{self.path}/{name}",
                string_value=str(value),
                description=f"Quality gate threshold {name} (read by the gates, cached 5 min)",
            )
            for name, value in thresholds.model_dump().items()
        ]
        self.path_arn = stack.format_arn(
            service="ssm", resource="parameter", resource_name=f"{self.path.lstrip('/')}/*"
        )
        self.path_root_arn = stack.format_arn(
            service="ssm", resource="parameter", resource_name=self.path.lstrip("/")
        )

    def grant_read(self, grantee: iam.IGrantable) -> None:
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                # Powertools' get_parameters(path): one GetParametersByPath.
                actions=["ssm:GetParametersByPath"],
                resources=[self.path_root_arn, self.path_arn],
            )
        )
        Validations.of(grantee.grant_principal).acknowledge(  # type: ignore[arg-type]
            iam_acknowledgment(
                self,
                f"Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter"
                f"{self.path}/*",
                "Read-only, and only this deployment's threshold parameters.",
            )
        )
