"""What the tests share: the services they run against, the frozen clock, HTML and timeline
readers. Fixtures live in tests/conftest.py; the plain helpers they use live here."""
