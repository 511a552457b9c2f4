import sys

from .face.cli import command_of, main


def _exit_now(code: int) -> None:
    """End ``printstation convert`` without the interpreter's teardown: by then its output is
    written (renamed into place, or flushed here); the teardown is a full garbage collection and
    module cleanup of a process that is exiting anyway (strace, 40-page PDF: `main` returned →
    exit_group 14.5 ms; 1 ms this way). The conversion child, killed before the output was
    written (so its own teardown overlapped the write), is reaped first: no process outlives the
    command. Anything that cannot be flushed takes the ordinary exit, which reports it."""
    import logging
    import os

    try:
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()  # flushes and closes every handler (stderr only for convert)
    except Exception:  # noqa: BLE001 - e.g. a closed pipe: the ordinary exit says so
        return
    mp = sys.modules.get("multiprocessing")
    if mp is not None:
        for child in mp.active_children():  # the killed conversion child
            child.join(5)
    os._exit(code)


# Guarded: multiprocessing's "spawn" children re-import the main module as __mp_main__.
if __name__ == "__main__":
    rc = main()
    if command_of(sys.argv[1:]) == "convert":
        _exit_now(rc)
    raise SystemExit(rc)
