import sys

from bench.ranking.run import main

if __name__ == "__main__":
    sys.exit(main())
