"""The ``adm-kiosk`` command: the composition root (with the tests, the only code that imports ``ui`` and
``hardware_sim``)."""
