# Quick start: `make demo` runs the main job, `make test` runs the test suite.
# Both first make sure the two C libraries the package links are installed.

PACKAGES := liblapacke-dev libopenblas-dev pkg-config

.PHONY: demo test build dependencies

demo: dependencies
	swift run -c release curvlinops-bench

test: dependencies
	swift test

build: dependencies
	swift build -c release

# Installs the Debian packages when they are missing and we are root;
# otherwise stops with the command to run. That command refreshes the package
# lists first, because a fresh container has none and install would fail.
dependencies:
	@if pkg-config --exists openblas lapacke 2>/dev/null && [ -f /usr/include/lapacke.h ]; then \
		exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing $(PACKAGES) with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PACKAGES) >/dev/null; \
	else \
		echo "Missing OpenBLAS or LAPACKE. Install them with:" >&2; \
		echo "  sudo apt-get update && sudo apt-get install -y $(PACKAGES)" >&2; \
		exit 1; \
	fi
