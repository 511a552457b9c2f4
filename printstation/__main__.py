from .face.cli import main

# Guarded: multiprocessing's "spawn" children re-import the main module as __mp_main__.
if __name__ == "__main__":
    raise SystemExit(main())
