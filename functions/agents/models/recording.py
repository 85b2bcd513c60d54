"""A replay recording: the answers a ``replay`` provider gives, chosen by the request."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.models.llm import TOOLS, ToolCallError, validate_arguments


class RecordedUsage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)


class RecordedAnswer(BaseModel):
    """The answer to a request forcing ``tool`` whose prompt contains ``match`` (any prompt
    of that tool when ``match`` is null)."""

    model_config = ConfigDict(extra="forbid")

    tool: str
    match: str | None = Field(default=None, min_length=1)
    arguments: dict[str, Any]
    usage: RecordedUsage

    @model_validator(mode="after")
    def _arguments_fit_the_tool(self) -> RecordedAnswer:
        if self.tool not in TOOLS:
            raise ValueError(f"unknown tool {self.tool!r}: one of {', '.join(TOOLS)}")
        try:  # a bad recording fails at load, not at the step that plays it
            validate_arguments(TOOLS[self.tool], self.arguments)
        except ToolCallError as bad:
            raise ValueError(bad.message) from None
        return self


class Recording(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1)  # the model name replies and prices use
    description: str = ""
    entries: list[RecordedAnswer] = Field(min_length=1)
