# The two README commands (run, test) plus the stages CI adds. Each does the set-up it needs.
SHELL := /bin/bash
CACHE := $(HOME)/.cache/pyexec
NSJAIL ?= $(CACHE)/nsjail
PORT ?= 8080
MVN := mvn -B -q

.PHONY: setup build run test bench soak tf-test image-test vm-test

setup:
	@bash .ci/setup

build: setup
	$(MVN) -DskipTests package

# Serves the function under java-function-invoker, as in the container, in the foreground.
run: build
	PYEXEC_NSJAIL=$${PYEXEC_NSJAIL:-$(NSJAIL)} PORT=$(PORT) java -XX:+UseSerialGC -Djdk.lang.Process.launchMechanism=VFORK \
	  -jar function/target/java-function-invoker.jar \
	  --classpath function/target/pyexec-function.jar \
	  --target dev.pyexec.function.ExecuteFunction

test: setup
	mvn -B verify -Dpyexec.nsjail=$(NSJAIL)

bench: build
	PYEXEC_NSJAIL=$${PYEXEC_NSJAIL:-$(NSJAIL)} java -cp function/target/pyexec-function.jar:function/target/java-function-invoker.jar:function/target/test-classes \
	  dev.pyexec.function.bench.Benchmark

# Twice the measured capacity of a mix of good, failing and hostile scripts, with SIGKILLs
# among the jails, for SOAK_SECONDS (default 120); prints a SOAK line, fails on a broken check.
SOAK_SECONDS ?= 120
soak: build
	PYEXEC_NSJAIL=$${PYEXEC_NSJAIL:-$(NSJAIL)} java -Dsoak.seconds=$(SOAK_SECONDS) \
	  -cp function/target/pyexec-function.jar:function/target/java-function-invoker.jar:function/target/test-classes \
	  dev.pyexec.function.soak.Soak

tf-test:
	bash terraform/scripts/tf-test.sh

image-test:
	bash container/image-test.sh

# The image (built by image-test, or here when missing) booted in a Cloud Run gen2-like microVM.
vm-test:
	bash container/vm/vm-test.sh
