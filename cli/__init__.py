"""The headless front end: `python main.py COMMAND ...` (= `layerwise COMMAND`).

main (the parser and the exit codes) · train · info · export · datasets · lab · progress (the
progress bar and tables). It calls the engine's public API and has no run logic of its own.
"""
