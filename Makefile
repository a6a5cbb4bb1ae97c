.PHONY: demo test

# One command for a newcomer: set up .venv, convert the example data, score sample rollouts
# through verl, dry-run the 7B recipe (scripts/demo.sh).
demo:
	bash scripts/demo.sh

# The whole test suite, in the same .venv (scripts/test.sh).
test:
	bash scripts/test.sh
