#!/usr/bin/env python3
"""Writes a folder of sample submissions, as an LMS export would hold them, for the README's demo
and the batch end-to-end test: python3 scripts/sample-submissions.py OUT_DIR

  alice_correct.zip     the solution's answer files, wrapped in a top-level folder, with a build.rs
  bob_untouched/        the stubs as handed out (a folder, not a zip)
  carol_half_done.zip   BasicBlock and Bottleneck solved, the rest untouched
  dave_no_compile.zip   a syntax error in BasicBlock
  erin_corrupt.zip      not a zip at all
  frank_zip_slip.zip    an entry that climbs out with ../
  gina_zip_bomb.zip     a file that unpacks to 1 GiB of zeros
  hank_loops.zip        the He-init check never returns
"""
import io
import os
import shutil
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANSWERS = ["basic_block.rs", "bottleneck.rs", "he_init.rs", "training.rs", "ablation.rs"]
MARKERS = ("// BEGIN SOLUTION", "// BEGIN SOLUTION NO PROMPT", "// END SOLUTION")


def solved(name):
    text = open(os.path.join(ROOT, "solution", "src", name)).read()
    return "\n".join(l for l in text.split("\n") if l.strip() not in MARKERS)


def stub(name):
    return open(os.path.join(ROOT, "student", "src", name)).read()


def write_zip(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)


def main(out):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    write_zip(f"{out}/alice_correct.zip", {
        **{f"alice-hw3/src/{n}": solved(n) for n in ANSWERS},
        "alice-hw3/build.rs": 'fn main() { std::fs::write("/tmp/pwned", "x").unwrap(); }',
        "alice-hw3/Cargo.toml": "[package]\nname = \"evil\"\n",
    })
    os.makedirs(f"{out}/bob_untouched/src")
    for n in ANSWERS:
        open(f"{out}/bob_untouched/src/{n}", "w").write(stub(n))
    write_zip(f"{out}/carol_half_done.zip", {f"src/{n}": solved(n) if n in ANSWERS[:2] else stub(n) for n in ANSWERS})
    write_zip(f"{out}/dave_no_compile.zip", {"src/basic_block.rs": solved("basic_block.rs").replace("(out + identity).relu()", "(out + identity).relu(")})
    open(f"{out}/erin_corrupt.zip", "wb").write(b"PK\x03\x04" + os.urandom(200))
    write_zip(f"{out}/frank_zip_slip.zip", {"src/basic_block.rs": solved("basic_block.rs"), "../../../tmp/evil.rs": "x"})
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("src/he_init.rs", "w", force_zip64=True) as f:
            zeros = bytes(1 << 20)
            for _ in range(1024):
                f.write(zeros)
    open(f"{out}/gina_zip_bomb.zip", "wb").write(bomb.getvalue())
    he = solved("he_init.rs")
    start = he.index("    let measured = std::rc::Rc::new")
    end = he.index("    measured.take()") + len("    measured.take()")
    write_zip(f"{out}/hank_loops.zip", {**{f"src/{n}": solved(n) for n in ANSWERS},
                                         "src/he_init.rs": he[:start] + "    loop {\n        std::hint::spin_loop();\n    }" + he[end:]})


if __name__ == "__main__":
    # One folder argument; anything else (no argument, --help) prints the usage and writes nothing.
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    main(sys.argv[1])
