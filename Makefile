# Shortcuts for people who type `make`; course.py does the work and needs only Python 3.11+.
PYTHON ?= python3

.PHONY: lab test bench setup
lab:
	$(PYTHON) course.py lab
test:
	$(PYTHON) course.py test
bench:
	$(PYTHON) course.py bench
setup:
	$(PYTHON) course.py setup
