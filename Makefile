# The two entry points: `make demo` and `make test`. Both install libtorch into
# a cache outside the checkout on first use (scripts/setup-libtorch.sh).

.PHONY: demo test build lint libtorch fuzz

libtorch:
	@scripts/setup-libtorch.sh >/dev/null

build: libtorch
	@LIBTORCH="$$(scripts/setup-libtorch.sh)" cargo build --bins

demo:
	@scripts/demo.sh

test:
	@scripts/test.sh

lint: libtorch
	@LIBTORCH="$$(scripts/setup-libtorch.sh)" cargo fmt --all --check
	@LIBTORCH="$$(scripts/setup-libtorch.sh)" cargo clippy --all-targets -- -D warnings

# Fuzzes the REST API from its own OpenAPI document (schemathesis from PyPI,
# into a venv in the cache); not part of `make test`.
fuzz:
	@scripts/fuzz-rest.sh
