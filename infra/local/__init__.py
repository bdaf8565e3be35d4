"""The product run on this machine, as it runs deployed, with no AWS: what the tests and
the benchmarks (`bench/`) both run, and what a reader can run by hand.

    images        both images built from infra/build_spec.py with docker; the serving image
                  run as Lambda runs it (the base image's entrypoint around the RIE)
    server        `python -m <package> serve` in a process of its own, on loopback
    load_clients  concurrent HTTP clients of that server, in a process of their own
    measure       a command in a child process, with its wall time and its own peak RSS
    data          the real store CSV on this machine, and its copy at the stack's data path

Nothing here imports pulumi; nothing in the product imports the tests or the benchmarks.
"""
