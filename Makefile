# resnet-lab — the Residual Networks assignment, graded automatically.
#
#   make            set up (libtorch via PyPI on first run), then batch-grade the bundled sample submissions
#   make test       every test of the workspace
#   make check      grade student/ with the public checks (CRATE=solution, HIDDEN=1, PROFILE=full DATA=dir,
#                   ONLY="basic_block he_init.layers": those exercises or checks, reported in a folder of their own;
#                   failed checks end it normally, STRICT=1 keeps the exit code: 1 some failed, 2 could not grade, 64 usage)
#   make watch      check, then re-check an exercise each time its file is saved (CRATE=..., Ctrl-C stops)
#   make submit     write submission.zip (STUDENT_ID=jdoe, FORCE=1 to overwrite)
#   make batch      grade a folder of submissions (SUBMISSIONS=dir OUT=dir, SHARD=K/N)
#   make student    regenerate student/ from solution/ (never edit student/ by hand)
#   make lint       rustfmt and clippy, as CI runs them
#   make gpu-check  the full profile on a GPU with real CIFAR-10 (DATA=dir)
#   make handout    what students get: student crate, public-only grader, Makefile (target/handout)
#   make autograder the Gradescope bundle (target/autograder/autograder.zip); make autograder-pl: PrairieLearn's
#                   grader image folder (target/prairielearn: Dockerfile, info.json, source/)
#   make bench      training speed (GPU: DATA=dir), and the eager-PyTorch baseline when on a GPU
#   make bench-throughput  submissions per hour with --jobs 1, 4, 8 (GPU: DATA=dir)
#   make demo-degradation / demo-landscape   the notebook's demonstrations as SVG (target/demo-plots)
#   make pages-check  render the HTML pages of sample reports in headless Chromium (target/screenshots)

CARGO   ?= cargo
CRATE   ?= student
PROFILE ?= smoke
DATA    ?=
HIDDEN  ?=
ONLY    ?=
STRICT  ?=
empty :=
space := $(empty) $(empty)
# A run of some checks only (ONLY=...) reports into a folder of its own: the full report stays.
OUT     ?= target/grader/$(notdir $(abspath $(CRATE)))$(if $(strip $(ONLY)),/only-$(subst $(space),+,$(strip $(ONLY))))
GRADER   = $(CARGO) run --quiet -p resnet-lab-grader --
CHECK_FLAGS = --crate $(CRATE) --profile $(PROFILE) --out $(OUT) $(if $(DATA),--data $(DATA)) $(if $(HIDDEN),--hidden) $(foreach check,$(ONLY),--only $(check))

SUBMISSIONS ?= target/demo/submissions
BATCH_OUT   ?= target/demo/graded
SHARD       ?=
# The full profile when a GPU and CIFAR-10 (DATA=dir) are both here, else the CPU smoke profile.
DEMO_PROFILE = $(if $(and $(DATA),$(shell command -v nvidia-smi 2>/dev/null)),full,smoke)

.PHONY: all demo setup test check watch submit batch student lint gpu-check bench bench-throughput handout autograder autograder-pl clean-grader demo-degradation demo-landscape pages-check

all: demo

## The instructor's main job on embedded defaults: batch-grade a bundled folder of sample
## submissions (correct, untouched, half done, not compiling, corrupt, zip-slip, zip bomb, looping)
## with all checks, and print the gradebook.
demo: setup
	@$(GRADER) samples $(SUBMISSIONS)
	@echo "== batch-grading $(SUBMISSIONS) ($(DEMO_PROFILE) profile; every check; a looping check is cut at 60 s, of computation where the check is CPU-bound) =="
	@$(GRADER) batch $(SUBMISSIONS) --out $(BATCH_OUT) --profile $(DEMO_PROFILE) $(if $(DATA),--data $(DATA)) --max-check-seconds 60
	@echo
	@(column -s, -t < $(BATCH_OUT)/grades.csv 2>/dev/null || cat $(BATCH_OUT)/grades.csv) | cut -c1-160
	@echo "class dashboard: $(BATCH_OUT)/index.html · each student's page: $(BATCH_OUT)/<student>/report.html"

# bubblewrap builds the sandbox submissions' code runs in (see README, "Trust model").
# Every crate any build may need is fetched here, while the network is there: the grader builds each
# submission offline (a submission must never make it reach the network), and on a machine whose
# cargo cache is empty those builds would stop at the first missing crate. Quick when all are cached.
setup: .cargo/config.toml
	@$(CARGO) fetch --locked --offline --quiet 2>/dev/null || { echo "setup: fetching the crates of Cargo.lock"; $(CARGO) fetch --locked --quiet; }
	@command -v bwrap >/dev/null || bash scripts/install-bubblewrap.sh

.cargo/config.toml: scripts/setup.sh
	@bash scripts/setup.sh

test: setup
	$(CARGO) test --workspace

# Exit code 1 (some check did not pass) would make make print "Error 1", which reads as a crash.
check: setup
	@$(GRADER) check $(CHECK_FLAGS) || { code=$$?; [ $$code -eq 1 ] && [ -z "$(STRICT)" ] || exit $$code; }

watch: setup
	@$(GRADER) check --crate $(CRATE) --profile $(PROFILE) --watch $(if $(HIDDEN),--hidden) $(foreach check,$(ONLY),--only $(check))

submit: setup
	@$(GRADER) submit $(if $(STUDENT_ID),--student-id $(STUDENT_ID)) $(if $(FORCE),--force)

batch: setup
	@$(GRADER) batch $(SUBMISSIONS) --out $(BATCH_OUT) --profile $(PROFILE) $(if $(DATA),--data $(DATA)) $(if $(SHARD),--shard $(SHARD))

student: setup
	@$(GRADER) assign

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

gpu-check: setup
	@test -n "$(DATA)" || { echo "make gpu-check needs DATA=<folder with cifar-10-batches-bin>"; exit 2; }
	@$(GRADER) check --crate $(CRATE) --profile full --data $(DATA) --hidden --release --out $(OUT)-full

bench: setup
	$(CARGO) run --release -p resnet-lab-bench -- $(if $(DATA),--data $(DATA),--width 8 --batch-size 128 --epochs 2 --runs 1)
	@if [ -n "$(DATA)" ] && command -v nvidia-smi >/dev/null; then .venv/bin/python bench/pytorch_baseline.py $(DATA) --compare target/bench/bench.json --out target/bench/pytorch.json; fi

bench-throughput: setup
	bash bench/throughput.sh $(DATA)

demo-degradation demo-landscape: setup
	@$(GRADER) demo $(subst demo-,,$@) $(if $(DATA),--data $(DATA))

pages-check: setup
	$(CARGO) test -p resnet-lab-grader --test html -- --nocapture

handout: setup
	@rm -rf target/handout
	@$(GRADER) handout --out target/handout

autograder: setup
	@$(GRADER) autograder --out target/autograder

autograder-pl: setup
	@$(GRADER) autograder --platform prairielearn --out target/prairielearn

clean-grader:
	rm -rf target/grader
