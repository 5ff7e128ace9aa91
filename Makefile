# resnet-lab — the Residual Networks assignment, graded automatically.
#
#   make            set up (libtorch via PyPI on first run), then grade the solution and the student crate
#   make test       every test of the workspace
#   make check      grade student/ with the public checks (CRATE=solution, HIDDEN=1, PROFILE=full DATA=dir)
#   make student    regenerate student/ from solution/ (never edit student/ by hand)
#   make lint       rustfmt and clippy, as CI runs them
#   make gpu-check  the full profile on a GPU with real CIFAR-10 (DATA=dir)

CARGO   ?= cargo
CRATE   ?= student
PROFILE ?= smoke
DATA    ?=
HIDDEN  ?=
OUT     ?= target/grader/$(notdir $(abspath $(CRATE)))
GRADER   = $(CARGO) run --quiet -p resnet-lab-grader --
CHECK_FLAGS = --crate $(CRATE) --profile $(PROFILE) --out $(OUT) $(if $(DATA),--data $(DATA)) $(if $(HIDDEN),--hidden)

.PHONY: all demo setup test check student lint gpu-check clean-grader

all: demo

## The main job on embedded defaults: the public checks on the reference solution (all pass) and on
## the untouched student crate (every exercise "not implemented").
demo: setup
	@echo "== grading the reference solution (public + hidden checks, smoke profile, CPU) =="
	@$(GRADER) check --crate solution --hidden --out target/grader/solution || true
	@echo
	@echo "== grading the student crate as handed out (public checks) =="
	@$(GRADER) check --crate student --out target/grader/student || true

setup: .cargo/config.toml

.cargo/config.toml: scripts/setup.sh
	@bash scripts/setup.sh

test: setup
	$(CARGO) test --workspace

check: setup
	@$(GRADER) check $(CHECK_FLAGS)

student: setup
	@$(GRADER) assign

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

gpu-check: setup
	@test -n "$(DATA)" || { echo "make gpu-check needs DATA=<folder with cifar-10-batches-bin>"; exit 2; }
	@$(GRADER) check --crate $(CRATE) --profile full --data $(DATA) --hidden --release --out $(OUT)-full

clean-grader:
	rm -rf target/grader
