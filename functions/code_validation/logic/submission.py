"""The rules a submission keeps before anything runs: how many files, how large, which
paths. A broken rule is refused with a message naming the file and the problem."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath

from code_validation.models.validation import MAX_FILE_BYTES, MAX_FILES

EXTENSIONS = (".py", ".toml", ".cfg", ".ini", ".txt", ".json")
MAX_PATH_CHARS = 200
_PATH_CHARS = re.compile(r"^[A-Za-z0-9_./-]+$")


class InvalidSubmission(ValueError):
    """The submission breaks a rule; the message says which and where."""


def check_submission(files: Mapping[str, object]) -> None:
    """Raise InvalidSubmission naming the first problem; return when all is well."""
    if not files:
        raise InvalidSubmission("files: the submission has no files")
    if len(files) > MAX_FILES:
        raise InvalidSubmission(f"files: {len(files)} files; at most {MAX_FILES}")
    for path, source in files.items():
        check_path(path)
        if not isinstance(source, str):
            raise InvalidSubmission(f"files.{path}: the source must be a string")
        try:
            size = len(source.encode("utf-8"))
        except UnicodeEncodeError:
            raise InvalidSubmission(f"files.{path}: the source is not valid UTF-8 text") from None
        if size > MAX_FILE_BYTES:
            raise InvalidSubmission(f"files.{path}: {size} bytes; at most {MAX_FILE_BYTES}")
    _check_no_file_is_a_folder(list(files))


def check_path(path: str) -> None:
    where = f"files.{path!r}"
    if not path:
        raise InvalidSubmission("files: a path is empty")
    if "\x00" in path:
        raise InvalidSubmission(f"{where}: the path contains a NUL character")
    if len(path) > MAX_PATH_CHARS:
        raise InvalidSubmission(f"{where}: the path is longer than {MAX_PATH_CHARS} characters")
    if path.startswith("/"):
        raise InvalidSubmission(f"{where}: the path is absolute; paths are relative")
    if not _PATH_CHARS.match(path):
        raise InvalidSubmission(f"{where}: the path has characters outside [A-Za-z0-9_./-]")
    parts = path.split("/")
    if ".." in parts:
        raise InvalidSubmission(f"{where}: the path leaves the submission ('..')")
    if any(part in ("", ".") for part in parts):
        raise InvalidSubmission(f"{where}: the path has an empty or '.' component")
    if any(part.startswith("-") for part in parts):
        # A tool would read it as an option.
        raise InvalidSubmission(f"{where}: a path component starts with '-'")
    if not path.endswith(EXTENSIONS):
        raise InvalidSubmission(f"{where}: the file must end in one of {', '.join(EXTENSIONS)}")


def _check_no_file_is_a_folder(paths: list[str]) -> None:
    folders = {str(parent) for path in paths for parent in PurePosixPath(path).parents}
    for path in paths:
        if path in folders:
            raise InvalidSubmission(f"files.{path!r}: the path is both a file and a folder")
