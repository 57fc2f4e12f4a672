"""The deploy engine: pure command builders and renderers, the build, the one
module that runs remote commands, the pipeline and the runner."""
