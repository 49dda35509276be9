"""bookstore's domain: what it does with notebooks, with no web framework in sight.

Each room works on a started :class:`~bookstore.stores.base.ObjectStore`:

* :mod:`.areas`: the workspace and published areas the settings define, and the objects
  below for each;
* :mod:`.archive`: every save becomes a version (archiver, spool, lineage);
* :mod:`.history`: list and read the versions of a file, across renames;
* :mod:`.diff`: nbdime diffs between versions, or a version and the current file;
* :mod:`.catalog`: everything published;
* :mod:`.publish`: publish, describe and unpublish notebooks;
* :mod:`.clone`: where clones come from (the store, a folder of the server);
* :mod:`.restore`: write a version back over the workspace file;
* :mod:`.retention`: which versions a policy keeps, and pruning the others for good.

The Jupyter server (:mod:`bookstore.server`) and the tools without one
(:mod:`bookstore.standalone`) adapt these; nothing here imports tornado,
jupyter_server or jinja2.
"""
