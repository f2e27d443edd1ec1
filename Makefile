# The two commands of the README. Both set up on first use (scripts/bootstrap.sh, idempotent).
SHELL := /bin/bash
ENV := source .venv/env.sh &&
PYTEST_ARGS ?=

.PHONY: setup demo test lint clean
setup:
	@scripts/bootstrap.sh

demo: setup
	@$(ENV) disac demo

# The browser test needs the viewer extra and chromium (scripts/install-view.sh: ~40 s once, 0.2 s after).
test: setup
	@scripts/install-view.sh
	@$(ENV) python -m pytest $(PYTEST_ARGS)

lint: setup
	@$(ENV) ruff check disac_ros test scripts/disac

clean:
	rm -rf .ws build install log
