import sys
from pathlib import Path

# cases.py holds the small hand-solved datasets shared by the tests.
sys.path.insert(0, str(Path(__file__).parent))
