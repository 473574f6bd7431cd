"""Helpers shared by the test suites: live servers on loopback and protocol clients."""
