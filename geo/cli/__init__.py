"""The ``despro`` command: a thin click layer over the Python API."""
