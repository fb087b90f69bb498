"""``serialcompat matrix`` and ``serialcompat report``: goldens recorded on one Python, replayed on another.

* :mod:`.model`: cells, tables, environment states;
* :mod:`.build`: the matrix from ``--serialcompat-report`` files (read by :mod:`..store.report`);
* :mod:`.labels`, :mod:`.render_text`, :mod:`.render_markdown`, :mod:`.render_json`: one renderer per format;
* :mod:`.plans`: what a run will do (environments, phases, options);
* :mod:`.environments`: interpreters, tox envs, cached throwaway venvs;
* :mod:`.processes`: child processes and the progress display;
* :mod:`.runner`: every environment in parallel.

It talks to the plugin only through subprocesses and report files.
"""
