"""Helpers shared by the Python scripts in tools/ (standard library and NumPy only).

The scripts import it as a package, `from spconvlab_tools import experiment_db`: Python puts a
script's own folder (tools/) first on sys.path, so no path manipulation is needed when a script
runs as `python3 tools/<script>.py`.
"""
