import sys

from bench.longctx.run import main

if __name__ == "__main__":
    sys.exit(main())
