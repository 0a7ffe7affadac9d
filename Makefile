# Two commands do all the set-up (see README): `make lab` and `make test`.
# Everything else here is for maintainers.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ARGS   ?=

# Jupyter, IPython and matplotlib write into $HOME; keep test runs hermetic.
SCRATCH := $(CURDIR)/build/.home
HERMETIC := MPLCONFIGDIR=$(SCRATCH)/mpl IPYTHONDIR=$(SCRATCH)/ipython \
	JUPYTER_CONFIG_DIR=$(SCRATCH)/jupyter JUPYTER_DATA_DIR=$(SCRATCH)/jupyter-data \
	JUPYTER_RUNTIME_DIR=$(SCRATCH)/jupyter-runtime

.PHONY: setup data lab test notebooks html html-student student bench eval clean

# (Re)create the virtual environment when it is missing or older than pyproject.toml; one
# without pip (a venv whose creation failed half-way) is made again.
$(STAMP): pyproject.toml
	@$(PY) -m pip --version >/dev/null 2>&1 || $(PYTHON) -m venv --clear $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[notebooks,test]"
	@touch $(STAMP)

setup: $(STAMP) data

data: $(STAMP)
	$(PY) data_fetch.py

lab: setup
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks $(ARGS)

test: setup
	@mkdir -p $(SCRATCH)
	$(HERMETIC) $(PY) -m pytest $(ARGS)

# Regenerate every .ipynb from its MyST .md twin (the source of truth), without outputs;
# --update keeps the cell ids of an existing .ipynb, so diffs show only what changed.
notebooks: $(STAMP)
	$(VENV)/bin/jupytext --update --to ipynb notebooks/[0-9]*.md

# Executed HTML of every lesson (figures and sound embedded) plus an index page, in build/html/.
html: setup
	@mkdir -p $(SCRATCH)
	$(HERMETIC) $(PY) scripts/notebook_tools.py html build/html

# The same pages without the solutions (to publish before the exercises are due), in build/html-student/.
html-student: setup
	@mkdir -p $(SCRATCH)
	$(HERMETIC) $(PY) scripts/notebook_tools.py html build/html-student --students

# Student copies (.ipynb and .md) with every `solution` cell replaced by a stub, in build/student/.
student: $(STAMP)
	$(PY) scripts/notebook_tools.py student build/student

bench: $(STAMP)
	$(PY) benchmarks/bench_nmf.py

# Transcription quality on the evaluation set (see benchmarks/README.md). Needs the Debian
# packages fluidsynth fluid-soundfont-gm timgm6mb-soundfont csound-soundfont
# musescore-general-soundfont timidity freepats, and npm (the Salamander test piano's samples).
eval: $(STAMP)
	$(PY) benchmarks/make_eval_set.py
	$(PY) benchmarks/bench_transcription.py

clean:
	rm -rf build
