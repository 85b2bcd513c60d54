"""Which recorded answer a request gets: deterministic from the request's content alone,
since each step runs in its own Lambda invocation and nothing else is shared.

Among the entries for the forced tool whose ``match`` occurs in the prompt, one found in the
last message (the step's instruction) beats one found only elsewhere, then the longest match
wins, then the earliest in the file; an entry without ``match`` answers when none does.
"""

from __future__ import annotations

from agents.models.llm import ModelRequest, ToolCallError
from agents.models.recording import RecordedAnswer, Recording


def choose_answer(recording: Recording, request: ModelRequest) -> RecordedAnswer:
    name = request.tool.name
    last = request.messages[-1].content if request.messages else ""
    prompt = "\n".join([request.system, *(m.content for m in request.messages)])
    ranked: list[tuple[tuple[int, int, int], RecordedAnswer]] = []
    for index, entry in enumerate(recording.entries):
        if entry.tool != name:
            continue
        if entry.match is None:
            ranked.append(((0, 0, -index), entry))
        elif entry.match in last:
            ranked.append(((2, len(entry.match), -index), entry))
        elif entry.match in prompt:
            ranked.append(((1, len(entry.match), -index), entry))
    if not ranked:
        matches = [e.match for e in recording.entries if e.tool == name]
        raise ToolCallError(
            f"{name}: the recording has no answer for this request (its {name} entries match "
            f"{matches or 'nothing: there are none'}; the prompt starts {prompt[:120]!r})"
        )
    return max(ranked, key=lambda pair: pair[0])[1]
