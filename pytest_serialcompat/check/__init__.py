"""What one ``serialcompat.check(obj)`` does, from the object to a list of results.

* :mod:`.run`: one check -- plan, record, replay every stored golden;
* :mod:`.plan`: which (format, protocol) goldens an object has, its fresh bytes;
* :mod:`.json_codecs`: how an object becomes a JSON value and back;
* :mod:`.record`: ``--serialcompat-update`` (what to write, the manifests);
* :mod:`.replay`: one golden -- integrity, gate, load, compare;
* :mod:`.graph_compare`: are two object graphs the same, and where not;
* :mod:`.safety`: the safety gate (the reference analyzer's verdict, resolved names);
* :mod:`.verdict_cache`: the gate's verdicts on unchanged golden bytes, remembered;
* :mod:`.budget`: the per-golden time budget (``serialcompat_load_timeout``);
* :mod:`.set_order`: goldens that differ from the current bytes only in set order;
* :mod:`.spawn`: ``check_spawn_safe`` in a real ``spawn`` child;
* :mod:`.generations`: old releases' goldens: frozen before a rewrite, replayed every run;
* :mod:`.upgrade`: does an object loaded from old data fit today's classes.

It may import :mod:`..store`, :mod:`..diagnosis`, :mod:`..reference` and the
shared models (:mod:`..results`, :mod:`..environment`, :mod:`..project`,
:mod:`..renames`, :mod:`..bounds`), never
pytest or the plugin's modules: the fixture decides what a result means for the test.
"""
