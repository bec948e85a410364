"""RFC 9457 problem details, as every error of the API is answered."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_TYPE_PREFIX = "urn:grant-ledger:problem:"


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the offending field, e.g. body.amount.")
    message: str = Field(description="What is wrong with it.")
    code: str = Field(description="Machine-readable error code for this field.")


class Problem(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = Field(
        description="Stable URI identifying the problem type, e.g. "
        "urn:grant-ledger:problem:exceeds-undisbursed-commitment."
    )
    title: str = Field(description="Short human summary of the problem type.")
    status: int = Field(description="HTTP status code.")
    detail: str = Field(description="Human explanation of this occurrence.")
    instance: str | None = Field(default=None, description="The request path.")
    errors: list[FieldError] | None = Field(
        default=None, description="Field errors, for validation problems."
    )
