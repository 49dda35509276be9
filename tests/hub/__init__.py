"""Tests on a real JupyterHub: one SeaweedFS bucket for every user's server (``rig.py``)."""
