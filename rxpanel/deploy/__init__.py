"""The deploy engine, with no database: recipes of named steps (engine.py, steps/),
the fleet runner, the local build, the one module that talks SSH (remote.py) and
pure command builders and renderers (commands/, templates/). The worker hands it
a frozen plan and a journal."""
