import sys

from referrals_local.stack import serve

sys.exit(serve())
