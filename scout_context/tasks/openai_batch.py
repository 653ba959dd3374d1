"""OpenAI batch files: `batch --export-openai-batch` writes the pending questions as
requests for `vllm run-batch` instead of running them; `--import-openai-batch` reads its
results, which `run_batch` then stores exactly as answers of a run (matched by
`request_id`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..engine.base import Engine, Generation
from ..errors import UsageError
from ..output import write_output
from ..store import Store
from .batch import prepare, request_id, settings_key
from .jobs import JobFile

OPENAI_BATCH_URL = "/v1/chat/completions"  # the endpoint `vllm run-batch` serves


def export_openai_batch(job_file: JobFile, *, engine: Engine, store: Store, output: Path, force: bool = False) -> int:
    """Write the pending questions (all with `force`) as OpenAI batch requests for
    `vllm run-batch`, one JSON line each; returns how many were written. The custom ids
    depend on the corpus as packed: keep the batch files out of the corpora."""
    settings = settings_key(job_file)
    sampling = job_file.sampling
    options: dict[str, Any] = {"max_tokens": sampling.max_tokens, "temperature": sampling.temperature}
    if sampling.seed is not None:
        options["seed"] = sampling.seed
    if sampling.stop:
        options["stop"] = list(sampling.stop)
    lines = []
    for name, jobs in job_file.corpus_jobs().items():
        questions = list(dict.fromkeys(q.text for job in jobs for q in job.questions))
        prepared = prepare(job_file.corpora[name], questions, engine, store, job_file, [output])
        stored = {} if force else store.batch_answers(prepared.hash, engine.model_name, settings)
        for question in questions:
            if question in stored:
                continue
            messages = [
                {"role": "system", "content": prepared.system},
                {"role": "user", "content": prepared.user(question)},
            ]
            body = {"model": engine.model_name, "messages": messages, **options}
            custom_id = request_id(prepared, question, engine.model_name, settings)
            line = {"custom_id": custom_id, "method": "POST", "url": OPENAI_BATCH_URL, "body": body}
            lines.append(json.dumps(line, ensure_ascii=False) + "\n")
    write_output(output, "".join(lines))
    return len(lines)


def read_openai_batch(path: Path) -> dict[str, Generation | str]:
    """The results `vllm run-batch` wrote: custom id -> the answer, or its error in one line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None
    results: dict[str, Generation | str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            results[str(record["custom_id"])] = _batch_outcome(record)
        except (ValueError, KeyError, TypeError, IndexError) as error:
            raise UsageError(f"{path}:{number}: not an OpenAI batch result ({type(error).__name__}: {error})") from None
    return results


def _batch_outcome(record: dict[str, Any]) -> Generation | str:
    response = record.get("response") or {}
    body = response.get("body") or {}
    if record.get("error") or response.get("status_code", 200) >= 400 or not body.get("choices"):
        error = record.get("error") or body.get("error") or body or "no response"
        message = error.get("message", error) if isinstance(error, dict) else error
        return f"the batch request failed: {' '.join(str(message).split())[:300]}"
    choice = body["choices"][0]
    usage = body.get("usage") or {}
    message = choice.get("message") or {}
    return Generation(
        text=message.get("content") or choice.get("text") or "",
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        cached_tokens=int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        finish_reason=choice.get("finish_reason") or "stop",
        first_token_s=0.0,
        total_s=0.0,
    )
