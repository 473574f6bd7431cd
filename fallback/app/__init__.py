"""What an application touches: `Connection` (the class it writes) and the `Service`
that creates one per session at one prefix. Sans-I/O but for the service's sweep timer.
"""
