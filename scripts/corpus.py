#!/usr/bin/env python3
"""Builds the submission corpus of tests/cases as zip files, as an LMS export would hold them:

    python3 scripts/corpus.py OUT_DIR [CASE ...]

Each tests/cases/<name>/case.json describes one submission:

  base        "solution" (the answer files as a correct student would write them, markers removed)
              or "student" (the stubs as handed out)
  patches     [{file, replace, with}]: the case's mistake, applied to the base's answer file; the
              text to replace must occur exactly once
  prefix      a folder the answer files are wrapped in (e.g. "hw3/"), as students zip them
  omit        answer files left out of the zip
  files       {name: text}: extra entries (a build.rs, a Cargo.toml, a `../` path, ...)
  raw_files   {name: hex}: entries with exact bytes (not UTF-8, ...)
  symlinks    {name: target}: symbolic-link entries
  huge_files  {name: bytes}: entries of that many zero bytes (deflated, so the zip stays small)
  only        the exercises to grade (default: every exercise); the zip goes to OUT_DIR/<group>/,
              one folder per distinct selection, so that each folder is graded by one batch

The expectations (expect, others, row, needs_isolation) are read by tests/corpus.rs.
"""
import json
import os
import shutil
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = os.path.join(ROOT, "tests", "cases")
ANSWERS = ["src/basic_block.rs", "src/bottleneck.rs", "src/he_init.rs", "src/training.rs", "src/ablation.rs"]
MARKERS = ("// BEGIN SOLUTION", "// BEGIN SOLUTION NO PROMPT", "// END SOLUTION")


def answer(base, path):
    text = open(os.path.join(ROOT, base, path)).read()
    if base == "solution":
        text = "".join(l for l in text.splitlines(True) if l.strip() not in MARKERS)
    return text


def group_of(case):
    return "-".join(case["only"]) if case.get("only") else "all"


def answers(name, case):
    files = {path: answer(case["base"], path) for path in ANSWERS}
    for patch in case.get("patches", []):
        text = files[patch["file"]]
        count = text.count(patch["replace"])
        if count != 1:
            sys.exit(f"case {name}: the text to replace in {patch['file']} occurs {count} times, not once")
        files[patch["file"]] = text.replace(patch["replace"], patch["with"])
    for path in case.get("omit", []):
        del files[path]
    return files


def write_case(name, case, out):
    folder = os.path.join(out, group_of(case))
    os.makedirs(folder, exist_ok=True)
    prefix = case.get("prefix", "")
    with zipfile.ZipFile(os.path.join(folder, f"{name}.zip"), "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for path, text in answers(name, case).items():
            z.writestr(prefix + path, text)
        for path, text in case.get("files", {}).items():
            z.writestr(path, text)
        for path, hex_bytes in case.get("raw_files", {}).items():
            z.writestr(prefix + path, bytes.fromhex(hex_bytes))
        for path, target in case.get("symlinks", {}).items():
            info = zipfile.ZipInfo(prefix + path)
            info.create_system = 3  # Unix, so that the mode below is read
            info.external_attr = (0o120777 << 16)
            z.writestr(info, target)
        for path, size in case.get("huge_files", {}).items():
            info = zipfile.ZipInfo(path)
            info.compress_type = zipfile.ZIP_DEFLATED
            with z.open(info, "w", force_zip64=True) as f:
                zeros = bytes(1 << 20)
                for _ in range(size >> 20):
                    f.write(zeros)


def main(out, names):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for name in names or sorted(os.listdir(CASES)):
        with open(os.path.join(CASES, name, "case.json")) as f:
            write_case(name, json.load(f), out)


if __name__ == "__main__":
    # An output folder, then case names; no argument or an option (--help) prints the usage.
    if len(sys.argv) < 2 or any(a.startswith("-") for a in sys.argv[1:]):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
