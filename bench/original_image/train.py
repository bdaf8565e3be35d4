"""Train the original pattern's model (bench/original.py) and pickle it, as its notebook did."""

import pickle
import sys

from original import train_original

if __name__ == "__main__":
    csv, out = sys.argv[1], sys.argv[2]
    with open(out, "wb") as f:
        pickle.dump(train_original(csv), f)
