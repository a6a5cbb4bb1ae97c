.PHONY: demo test test-fast lint

# One command for a newcomer: set up .venv, convert the example data, score sample rollouts
# through verl, dry-run the 7B recipe, then train the tiny model for a few GG-GRPO steps on the CPU
# in verl's trainer and print/plot its curves (scripts/demo.sh; DEMO_TRAIN=0 skips the training).
demo:
	bash scripts/demo.sh

# The whole test suite, in the same .venv (scripts/test.sh).
test:
	bash scripts/test.sh

# The verl-free floors only (core, rewards, tools, eval, data_prep) with verl/torch/ray blocked.
test-fast:
	bash scripts/test_fast.sh

# ruff (lint + import order), as configured in pyproject.toml; also run by `make test`.
lint:
	.venv/bin/ruff check .
