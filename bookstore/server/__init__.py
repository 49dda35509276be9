"""bookstore inside a Jupyter server (jupyter_server 2: JupyterLab 4, Notebook 7): the
only part of bookstore that imports tornado, jupyter_server and jinja2 (bookstore 2.x's
import paths, ``bookstore.handlers`` and the like, reach them through this package).

* :mod:`.app`: :class:`~bookstore.server.app.BookstoreApp`, the extension;
* :mod:`.services`: what the handlers call (store, areas, archiver, workspace);
* :mod:`.routes`: the one route table; :mod:`.handlers`: the REST handlers;
  :mod:`.pages`: the landing pages; :mod:`.openapi`: the API's OpenAPI document;
* :mod:`.checkpoints`: versions as Jupyter's checkpoints;
* :mod:`.events`: histories follow renames and deletes (Jupyter's contents events);
* :mod:`.workspace`: files written and read through the contents manager;
* :mod:`.contents_manager`: bookstore 2.x's ``BookstoreContentsArchiver``.
"""
