"""The workshop kit: run the course for a class on a JupyterHub (workshop/README.md).

- :mod:`workshop.settings`: the one set of choices (settings.toml) every hub configuration uses;
- ``jupyterhub_config.py`` + :mod:`workshop.spawner`: the hub on one machine
  (``python3 course.py workshop``, started by :mod:`workshop.run`);
- :mod:`workshop.links`: the nbgitpuller link learners click (``python3 course.py workshop-link``);
- :mod:`workshop.consistency`: the local, TLJH and Zero to JupyterHub set-ups say the same;
- :mod:`workshop.loadtest`: a room of simulated learners against a real hub
  (``python3 course.py workshop-loadtest``).
"""
